//! The peer of pane's update benchmark: the self_update crate's documented
//! GitHub flow (`Update::configure() … .build()?.update()?`, as in its README's
//! quick start), pointed at the bench's release server and made
//! non-interactive the way its README says to (`no_confirm`, `show_output`).
//!
//! It replaces its own executable, as an application using self_update does.
//!
//! Usage: `self-update-peer API_BASE_URL OWNER REPO TARGET CURRENT_VERSION`

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [api_base_url, owner, repo, target, current_version] = args.as_slice() else {
        eprintln!("usage: self-update-peer API_BASE_URL OWNER REPO TARGET CURRENT_VERSION");
        return ExitCode::from(2);
    };
    match update(api_base_url, owner, repo, target, current_version) {
        Ok(version) => {
            println!("{version}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("self_update failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn update(
    api_base_url: &str,
    owner: &str,
    repo: &str,
    target: &str,
    current_version: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let status = self_update::backends::github::Update::configure()
        .api_base_url(api_base_url)
        .repo_owner(owner)
        .repo_name(repo)
        .target(target)
        .bin_name("pane")
        // pane's archives hold `pane-<version>-<target>/pane`.
        .bin_path_in_archive("pane-{{ version }}-{{ target }}/pane")
        .show_download_progress(false)
        .show_output(false)
        .no_confirm(true)
        .current_version(current_version)
        .build()?
        .update()?;
    if status.is_updated() {
        Ok(format!("updated to {}", status.version()))
    } else {
        Ok(format!("{} is up to date", status.version()))
    }
}
