//! GitHub's release listing: a hint of which releases exist, never evidence
//! (every version it names is fetched and verified through its own signed
//! `SHA256SUMS`).

use semver::Version;

/// A release as the listing API describes it (a hint, never evidence).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ListedRelease {
    pub version: Version,
    pub tag: String,
    pub prerelease: bool,
    pub published_at: Option<String>,
}

/// Parses one page of GitHub's release listing. Returns `None` when it is not
/// a JSON array of objects with a `tag_name`.
pub fn parse_listing(body: &[u8]) -> Option<Vec<ListedRelease>> {
    #[derive(serde::Deserialize)]
    struct Item {
        tag_name: String,
        #[serde(default)]
        prerelease: bool,
        #[serde(default)]
        draft: bool,
        #[serde(default)]
        published_at: Option<String>,
    }
    let items: Vec<Item> = serde_json::from_slice(body).ok()?;
    Some(
        items
            .into_iter()
            .filter(|item| !item.draft)
            .filter_map(|item| {
                let version = Version::parse(item.tag_name.strip_prefix('v')?).ok()?;
                Some(ListedRelease {
                    prerelease: item.prerelease || !version.pre.is_empty(),
                    version,
                    tag: item.tag_name,
                    published_at: item.published_at,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_table() {
        let body = br#"[{"tag_name":"v1.2.0","prerelease":false},
                        {"tag_name":"v1.3.0-beta.1","prerelease":false},
                        {"tag_name":"nightly"},
                        {"tag_name":"v0.9.0","draft":true}]"#;
        let releases = parse_listing(body).unwrap();
        assert_eq!(releases.len(), 2);
        assert!(!releases[0].prerelease);
        assert!(
            releases[1].prerelease,
            "a semver pre-release is a pre-release"
        );
        assert!(parse_listing(b"{}").is_none());
        assert!(parse_listing(b"[{\"name\":1}]").is_none());
        assert!(parse_listing(b"\xff").is_none());
    }
}
