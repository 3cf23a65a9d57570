//! The network cases in the report: a table, and their goals.

use super::report::{mib, spread, verdict, Goals, Markdown, Report};
use super::stats::ratio;
use super::update::Traffic;
use crate::net::relay::Shape;
use crate::net::ServerKind;

/// pane's and the peer's ratios on the slow links: at most this much over
/// the floor, at most this much of the peer.
const SLOW_LINK_FLOOR: f64 = 1.15;
const SLOW_LINK_PEER: f64 = 0.85;
/// pane/peer over loopback TLS, at most.
const LOOPBACK_PEER: f64 = 0.8;
/// The servers' pane/peer ratios, the highest over the lowest, at most.
const SERVER_SPREAD: f64 = 1.10;

/// A slow-link goal against the peer that this contender cannot meet: the
/// time it asks for is below curl's plus the round trips the contender waits
/// beyond curl's by its design.
pub(super) const OUT_OF_REACH: &str = "**missed**, out of reach";

impl Report {
    pub(super) fn render_network(&self, out: &mut Markdown, goals: &mut Goals) {
        if self.network.is_empty() {
            return;
        }
        out.line("### Update time over the network");
        out.blank();
        out.line("From 1.0.0 to 1.1.0 over TLS, from a mirror that answers the download with a redirect to a CDN on a second host (GitHub's shape), through a relay that adds the link's round-trip time and bandwidth; median (min–max) over alternating rounds. The floor is `curl -L` fetching the archive and nothing else. Connections and requests are each contender's last timed update, pane / peer / curl.");
        out.blank();
        out.line("| server | link | release | rounds | pane | self_update peer | curl | pane/peer | pane/curl | connections | requests |");
        out.line("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for case in &self.network {
            let Some((server, shape)) = case.network else {
                continue;
            };
            let traffic = case.traffic.unwrap_or_default();
            let each = |f: fn(&Traffic) -> String| {
                traffic[..3].iter().map(f).collect::<Vec<_>>().join(" / ")
            };
            out.line(format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {} |",
                server.name(),
                shape.describe(),
                mib(case.archive_size),
                case.pane.0.len(),
                spread(&case.pane),
                spread(&case.peer),
                spread(&case.floor),
                ratio(case.pane.median(), case.peer.median()),
                ratio(case.pane.median(), case.floor.median()),
                each(|t| t.connections.to_string()),
                each(|t| t.requests.to_string()),
            ));
        }
        out.blank();
        self.render_after_check(out);
        self.network_goals(goals);
    }

    /// The shaped cases' fourth contender: pane after a check.
    fn render_after_check(&self, out: &mut Markdown) {
        let cases: Vec<_> = self
            .network
            .iter()
            .filter(|c| !c.after_check.0.is_empty())
            .filter_map(|c| Some((c, c.network?)))
            .collect();
        if cases.is_empty() {
            return;
        }
        out.line("#### After a check");
        out.blank();
        out.line("The same shaped cases, a fourth contender in the same rotation: pane's update after an untimed `pane self check` through the same link, as after the update notice, whose check leaves the latest version it saw, and the host its files came from, in `update-check.json`; the update asks for that version's archive before the server has named the latest release, and opens its connections to that host (the CDN) before any redirect has named it. The peer and curl are the same rounds as above.");
        out.blank();
        out.line("| server | link | release | rounds | pane after a check | pane/peer | pane/curl | connections | requests |");
        out.line("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (case, (server, shape)) in cases {
            let traffic = case.traffic.unwrap_or_default()[3];
            out.line(format!(
                "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {} | {} |",
                server.name(),
                shape.describe(),
                mib(case.archive_size),
                case.after_check.0.len(),
                spread(&case.after_check),
                ratio(case.after_check.median(), case.peer.median()),
                ratio(case.after_check.median(), case.floor.median()),
                traffic.connections,
                traffic.requests,
            ));
        }
        out.blank();
    }

    fn network_goals(&self, goals: &mut Goals) {
        let cases = || self.network.iter().filter_map(|c| Some((c, c.network?)));
        for (case, (_, shape)) in cases() {
            if shape != Shape::BROADBAND && shape != Shape::FAR {
                continue;
            }
            let link = format!("{}, {}", shape.describe(), mib(case.archive_size));
            // Round trips each waits before the archive's first byte beyond
            // curl's, which is handed the archive's address: pane told nothing
            // learns the version from the answer to its first request; after
            // a check it asks for the archive at once, as curl does.
            let contenders = [
                ("pane", &case.pane, 1),
                ("pane after a check", &case.after_check, 0),
            ];
            for (who, samples, extra_round_trips) in
                contenders.into_iter().filter(|(_, s, _)| !s.0.is_empty())
            {
                let floor = ratio(samples.median(), case.floor.median());
                goals.push((
                    format!("{who} ≤ {SLOW_LINK_FLOOR} × curl, {link}"),
                    format!("{floor:.2}"),
                    verdict(floor <= SLOW_LINK_FLOOR),
                ));
                let peer = ratio(samples.median(), case.peer.median());
                let asked = case.peer.median().mul_f64(SLOW_LINK_PEER);
                let bound = case.floor.median() + shape.rtt * extra_round_trips;
                goals.push((
                    format!("{who} ≤ {SLOW_LINK_PEER} × peer, {link}"),
                    format!("{peer:.2}"),
                    if peer > SLOW_LINK_PEER && asked < bound {
                        OUT_OF_REACH
                    } else {
                        verdict(peer <= SLOW_LINK_PEER)
                    },
                ));
            }
        }
        let mut sizes: Vec<u64> = cases()
            .filter(|(_, (_, shape))| *shape == Shape::NONE)
            .map(|(c, _)| c.archive_size)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        for size in sizes {
            let ratios: Vec<(ServerKind, f64)> = cases()
                .filter(|(c, (_, shape))| *shape == Shape::NONE && c.archive_size == size)
                .map(|(c, (server, _))| (server, ratio(c.pane.median(), c.peer.median())))
                .collect();
            let worst = ratios.iter().map(|r| r.1).fold(f64::MIN, f64::max);
            let best = ratios.iter().map(|r| r.1).fold(f64::MAX, f64::min);
            goals.push((
                format!(
                    "pane ≤ {LOOPBACK_PEER} × peer, loopback TLS, {} (worst of {} servers)",
                    mib(size),
                    ratios.len()
                ),
                format!("{worst:.2}"),
                verdict(worst <= LOOPBACK_PEER),
            ));
            if ratios.len() > 1 {
                let spread = worst / best;
                goals.push((
                    format!("pane/peer alike on every server (highest ≤ {SERVER_SPREAD} × lowest), loopback TLS, {}", mib(size)),
                    format!("{spread:.2}"),
                    verdict(spread <= SERVER_SPREAD),
                ));
            }
        }
    }
}

/// A network case with fixed figures, for the report's golden test.
#[cfg(test)]
fn sample_case(
    plan: super::network::NetworkPlan,
    pane: &[u64],
    peer: &[u64],
    curl: &[u64],
    after_check: &[u64],
) -> super::update::UpdateCase {
    let ms = |values: &[u64]| {
        super::stats::Samples(
            values
                .iter()
                .map(|&m| std::time::Duration::from_millis(m))
                .collect(),
        )
    };
    super::update::UpdateCase {
        archive_size: plan.size,
        throttle: None,
        network: Some((plan.server, plan.shape)),
        pane: ms(pane),
        peer: ms(peer),
        floor: ms(curl),
        after_check: ms(after_check),
        traffic: Some([
            Traffic {
                connections: 2,
                requests: 4,
            },
            Traffic {
                connections: 3,
                requests: 3,
            },
            Traffic {
                connections: 2,
                requests: 2,
            },
            Traffic {
                connections: 4,
                requests: 5,
            },
        ]),
    }
}

/// Network cases with fixed figures: loopback on each server, three shaped.
#[cfg(test)]
pub(super) fn sample_network() -> Vec<super::update::UpdateCase> {
    use super::MIB;
    let plan = |server, shape, size| super::network::NetworkPlan {
        server,
        shape,
        size,
        rounds: 1,
    };
    let (pane, python, nginx) = (ServerKind::Pane, ServerKind::Python, ServerKind::Nginx);
    vec![
        sample_case(
            plan(pane, Shape::NONE, 3 * MIB),
            &[60, 70],
            &[90, 95],
            &[20, 22],
            &[],
        ),
        sample_case(plan(python, Shape::NONE, 3 * MIB), &[62], &[92], &[21], &[]),
        sample_case(plan(nginx, Shape::NONE, 3 * MIB), &[61], &[70], &[21], &[]),
        sample_case(
            plan(nginx, Shape::BROADBAND, 40 * MIB),
            &[3600],
            &[4400],
            &[3500],
            &[3550],
        ),
        sample_case(
            plan(nginx, Shape::FAR, 3 * MIB),
            &[2200],
            &[2400],
            &[1700],
            &[1900],
        ),
        // 0.85 × the peer is 510 ms: below curl and one round trip
        // (520 ms), within reach of pane after a check.
        sample_case(
            plan(nginx, Shape::BROADBAND, 3 * MIB),
            &[560],
            &[600],
            &[490],
            &[520],
        ),
    ]
}
