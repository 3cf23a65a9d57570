//! The update policy: `updates = "notify" | "auto" | "off"`.
//!
//! Where it comes from, first found wins:
//! 1. the administrator's system-wide file (`/etc/pane/config.toml`; on macOS
//!    `/Library/Application Support/pane/config.toml`): it wins over
//!    everything, and its `off` also makes `update`, `pin` and `rollback`
//!    refuse, naming the file;
//! 2. the environment variable `PANE_UPDATES`;
//! 3. the user's file (`<config dir>/pane/config.toml`);
//! 4. the default, `notify`.
//!
//! The files are read as the small subset of TOML they need: `key = "value"`
//! lines (double or single quotes), `#` comments, blank lines, and `[table]`
//! headers, whose keys are not top-level and so are ignored. Other top-level
//! keys are ignored too, so a later version can add settings. A value that
//! is not one of the three, or `updates` set twice, is an error naming the
//! file: an administrator's typo must not quietly turn into `notify`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The files' name, in each of their directories.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// The largest config file read.
const MAX_CONFIG_BYTES: u64 = 64 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpdatePolicy {
    /// Check in the background and tell the user; install nothing unasked.
    #[default]
    Notify,
    /// Check in the background and install what `update` would.
    Auto,
    /// No background check at all.
    Off,
}

impl UpdatePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            UpdatePolicy::Notify => "notify",
            UpdatePolicy::Auto => "auto",
            UpdatePolicy::Off => "off",
        }
    }
}

impl fmt::Display for UpdatePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UpdatePolicy {
    type Err = String;
    fn from_str(text: &str) -> Result<UpdatePolicy, String> {
        match text {
            "notify" => Ok(UpdatePolicy::Notify),
            "auto" => Ok(UpdatePolicy::Auto),
            "off" => Ok(UpdatePolicy::Off),
            other => Err(format!(
                "{other:?} is not an update policy (notify, auto or off)"
            )),
        }
    }
}

impl UpdatePolicy {
    /// A policy typed on the command line or in `PANE_UPDATES`: in any ASCII
    /// case, surrounding white space ignored. (The files take only the
    /// setting's own spelling.)
    pub fn parse_loose(text: &str) -> Result<UpdatePolicy, String> {
        text.trim().to_ascii_lowercase().parse().map_err(|_| {
            format!(
                "{:?} is not an update policy (auto, notify or off)",
                text.trim()
            )
        })
    }
}

/// Where the policy in force comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    System(PathBuf),
    Environment,
    User(PathBuf),
    Default,
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::System(path) => write!(f, "{} (system-wide)", path.display()),
            PolicySource::Environment => f.write_str("PANE_UPDATES"),
            PolicySource::User(path) => write!(f, "{}", path.display()),
            PolicySource::Default => f.write_str("the default"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPolicy {
    pub policy: UpdatePolicy,
    pub source: PolicySource,
    /// A `PANE_UPDATES` that was reached but is none of the three, and so was
    /// passed over: the warning to show where the policy counts.
    pub ignored: Option<String>,
}

impl ResolvedPolicy {
    /// Whether an administrator turned updates off: then `update`, `pin` and
    /// `rollback` refuse too, naming the file.
    pub fn administrator_off(&self) -> bool {
        self.policy == UpdatePolicy::Off && matches!(self.source, PolicySource::System(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {why}")]
    Syntax {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl PolicyError {
    /// The file that could not be read or written.
    pub fn path(&self) -> &Path {
        match self {
            PolicyError::Read { path, .. }
            | PolicyError::Syntax { path, .. }
            | PolicyError::Write { path, .. } => path,
        }
    }
}

/// The system-wide file of this platform.
pub fn system_config_path() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/pane").join(CONFIG_FILE_NAME)
    } else {
        PathBuf::from("/etc/pane").join(CONFIG_FILE_NAME)
    }
}

/// The user's file under the config dir (`$XDG_CONFIG_HOME`, `~/.config`,
/// or the platform's equivalent, which the caller finds).
pub fn user_config_path(config_dir: &Path) -> PathBuf {
    config_dir.join("pane").join(CONFIG_FILE_NAME)
}

/// The policy in force, and where it comes from. `system` and `user` are the
/// files' paths (a missing file is not an error); `environment` is the value
/// of `PANE_UPDATES` (empty counts as unset), in any ASCII case. A value that
/// is none of the three is passed over, as if unset, and said so in
/// [`ResolvedPolicy::ignored`]: a variable is no file to repair, and the
/// notice and the background check, which cannot fail, must not read it as
/// `notify` without a word.
pub fn resolve(
    system: &Path,
    environment: Option<&str>,
    user: &Path,
) -> Result<ResolvedPolicy, PolicyError> {
    let resolved = |policy, source, ignored| ResolvedPolicy {
        policy,
        source,
        ignored,
    };
    if let Some(policy) = read_policy(system)? {
        return Ok(resolved(
            policy,
            PolicySource::System(system.to_path_buf()),
            None,
        ));
    }
    let mut ignored = None;
    if let Some(value) = environment.filter(|v| !v.is_empty()) {
        match UpdatePolicy::parse_loose(value) {
            Ok(policy) => return Ok(resolved(policy, PolicySource::Environment, None)),
            Err(_) => {
                ignored = Some(format!(
                    "PANE_UPDATES={:?} is not an update policy (auto, notify or off); ignoring it",
                    value.trim()
                ));
            }
        }
    }
    if let Some(policy) = read_policy(user)? {
        return Ok(resolved(
            policy,
            PolicySource::User(user.to_path_buf()),
            ignored,
        ));
    }
    Ok(resolved(
        UpdatePolicy::default(),
        PolicySource::Default,
        ignored,
    ))
}

/// A config file's text, following a link: a regular file of at most
/// [`MAX_CONFIG_BYTES`] in UTF-8 (a FIFO or a device there is refused, not
/// read); `None` when there is none.
pub fn read_config(path: &Path) -> std::io::Result<Option<String>> {
    match crate::platform::read_regular(path, MAX_CONFIG_BYTES)? {
        Some(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
        }),
        None => Ok(None),
    }
}

/// The `updates` setting of one file; `None` if the file or the key is absent.
pub fn read_policy(path: &Path) -> Result<Option<UpdatePolicy>, PolicyError> {
    let read_error = |source| PolicyError::Read {
        path: path.to_path_buf(),
        source,
    };
    // A symlinked config file is normal (dotfile managers): follow it here.
    let Some(text) = read_config(path).map_err(read_error)? else {
        return Ok(None);
    };
    parse_updates(&text).map_err(|(line, why)| PolicyError::Syntax {
        path: path.to_path_buf(),
        line,
        why,
    })
}

/// One line of the subset: its top-level `key` and unquoted value, or `None`
/// for a blank, a comment, a table header or a line inside a table.
fn parse_line(line: &str, in_table: &mut bool) -> Result<Option<(String, String)>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.starts_with('[') {
        *in_table = true;
        return Ok(None);
    }
    let (key, rest) = line
        .split_once('=')
        .ok_or_else(|| format!("{line:?} is not `key = \"value\"`"))?;
    let key = key.trim().trim_matches('"').to_string();
    let rest = rest.trim();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
    let value = match quote {
        Some(quote) => {
            let inner = &rest[1..];
            let end = inner
                .find(quote)
                .ok_or_else(|| format!("the value of {key} has no closing quote"))?;
            let after = inner[end + 1..].trim();
            if !after.is_empty() && !after.starts_with('#') {
                return Err(format!("unexpected {after:?} after the value of {key}"));
            }
            inner[..end].to_string()
        }
        // Not a string (a number, a boolean, an array): only an error for `updates`.
        None => rest.split('#').next().unwrap_or("").trim().to_string(),
    };
    if *in_table {
        return Ok(None);
    }
    if key == "updates" && quote.is_none() {
        return Err(format!(
            "updates = {value} must be quoted: updates = \"{value}\""
        ));
    }
    Ok(Some((key, value)))
}

/// The `updates` value of a config file's text, or `(line, why)`.
pub fn parse_updates(text: &str) -> Result<Option<UpdatePolicy>, (usize, String)> {
    let mut in_table = false;
    let mut found: Option<(usize, UpdatePolicy)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let Some((key, value)) = parse_line(line, &mut in_table).map_err(|why| (number, why))?
        else {
            continue;
        };
        if key != "updates" {
            continue;
        }
        if let Some((first, _)) = found {
            return Err((
                number,
                format!("updates is set twice (first on line {first})"),
            ));
        }
        found = Some((number, value.parse().map_err(|why| (number, why))?));
    }
    Ok(found.map(|(_, policy)| policy))
}

/// Whether a config file's text holds nothing but what `pane self config`
/// writes: the top-level `updates` setting, blank lines and comments. Any
/// other key (`updates_channel` is another key), any table, and any line that
/// does not read are someone else's, and keep the file.
pub fn holds_only_the_updates_setting(text: &str) -> bool {
    let mut in_table = false;
    text.lines().all(|line| {
        if line.trim_start().starts_with('[') {
            return false;
        }
        match parse_line(line, &mut in_table) {
            Ok(None) => true,
            Ok(Some((key, _))) => key == "updates",
            Err(_) => false,
        }
    })
}

/// Sets `updates` in the user's file, keeping every other line: the first
/// top-level `updates` line is replaced, or a line is added before the first
/// table. Written atomically, keeping the file's mode; when the file is a
/// symbolic link (a dotfiles manager's, which the reader follows), the file
/// it points to is replaced, in its own directory, and the link stays.
pub fn write_user_policy(path: &Path, policy: UpdatePolicy) -> Result<(), PolicyError> {
    let text = read_config(path)
        .map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?
        .unwrap_or_default();
    let setting = format!("updates = \"{policy}\"");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut in_table = false;
    let mut replace_at = None;
    let mut first_table = None;
    for (index, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with('[') && first_table.is_none() {
            first_table = Some(index);
        }
        if let Ok(Some((key, _))) = parse_line(line, &mut in_table) {
            if key == "updates" {
                replace_at = Some(index);
                break;
            }
        }
    }
    match (replace_at, first_table) {
        (Some(index), _) => lines[index] = setting,
        (None, Some(index)) => lines.insert(index, setting),
        (None, None) => lines.push(setting),
    }
    let mut out = lines.join("\n");
    out.push('\n');
    let write_error = |source| PolicyError::Write {
        path: path.to_path_buf(),
        source,
    };
    let (target, mode) = crate::platform::rewrite_target(path).map_err(write_error)?;
    crate::platform::write_atomic(&target, out.as_bytes(), mode).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_updates_setting_is_pane_s_own() {
        for ours in [
            "",
            "updates = \"auto\"\n",
            "# mine\n\nupdates = 'off' # trailing\n",
        ] {
            assert!(holds_only_the_updates_setting(ours), "{ours:?}");
        }
        for theirs in [
            "updates = \"auto\"\nupdates_channel = \"beta\"\n",
            "updatesx = \"1\"\n",
            "updates = \"auto\"\n[mirror]\nurl = \"https://m.example\"\n",
            "[updates]\n",
            "updates = \"auto\"\ncolor = true\n",
            "not toml at all\n",
        ] {
            assert!(!holds_only_the_updates_setting(theirs), "{theirs:?}");
        }
    }

    #[test]
    fn the_subset_table() {
        let ok: &[(&str, Option<UpdatePolicy>)] = &[
            ("", None),
            ("# nothing\n\n", None),
            ("updates = \"auto\"", Some(UpdatePolicy::Auto)),
            ("  updates='off'   # the admin\n", Some(UpdatePolicy::Off)),
            (
                "other = 3\nupdates = \"notify\"\n",
                Some(UpdatePolicy::Notify),
            ),
            ("[proxy]\nupdates = \"auto\"\n", None),
            (
                "updates = \"off\"\n[proxy]\nupdates = \"auto\"\n",
                Some(UpdatePolicy::Off),
            ),
            ("\"updates\" = \"auto\"", Some(UpdatePolicy::Auto)),
            ("future = [1, 2]\nflag = true", None),
        ];
        for (text, expected) in ok {
            assert_eq!(parse_updates(text), Ok(*expected), "{text:?}");
        }
        let bad: &[(&str, usize)] = &[
            ("updates = \"sometimes\"", 1),
            ("updates = \"Auto\"", 1),
            ("updates = auto", 1),
            ("\nupdates = \"auto", 2),
            ("updates = \"auto\" x", 1),
            ("updates = \"auto\"\nupdates = \"off\"", 2),
            ("just words", 1),
        ];
        for (text, line) in bad {
            assert_eq!(parse_updates(text).unwrap_err().0, *line, "{text:?}");
        }
    }

    struct Files {
        _dir: tempfile::TempDir,
        system: PathBuf,
        user: PathBuf,
    }

    fn files(system: Option<&str>, user: Option<&str>) -> Files {
        let dir = tempfile::tempdir().unwrap();
        let system_path = dir.path().join("etc/pane/config.toml");
        let user_path = user_config_path(&dir.path().join("home/.config"));
        for (path, text) in [(&system_path, system), (&user_path, user)] {
            if let Some(text) = text {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
        }
        Files {
            _dir: dir,
            system: system_path,
            user: user_path,
        }
    }

    #[test]
    fn precedence_system_then_environment_then_user_then_default() {
        let all = files(Some("updates = \"off\""), Some("updates = \"auto\""));
        let resolved = resolve(&all.system, Some("notify"), &all.user).unwrap();
        assert_eq!(resolved.policy, UpdatePolicy::Off);
        assert_eq!(resolved.source, PolicySource::System(all.system.clone()));
        assert!(resolved.administrator_off());

        let no_system = files(None, Some("updates = \"auto\""));
        let resolved = resolve(&no_system.system, Some("off"), &no_system.user).unwrap();
        assert_eq!(
            (resolved.policy, &resolved.source),
            (UpdatePolicy::Off, &PolicySource::Environment)
        );
        assert!(!resolved.administrator_off());
        let resolved = resolve(&no_system.system, Some(""), &no_system.user).unwrap();
        assert_eq!(resolved.policy, UpdatePolicy::Auto);
        assert_eq!(resolved.source, PolicySource::User(no_system.user.clone()));

        let system_without_key = files(Some("# managed\n"), None);
        let resolved = resolve(&system_without_key.system, None, &system_without_key.user).unwrap();
        assert_eq!(
            resolved,
            ResolvedPolicy {
                policy: UpdatePolicy::Notify,
                source: PolicySource::Default,
                ignored: None,
            }
        );
    }

    #[test]
    fn errors_name_their_place_and_only_count_when_reached() {
        let typo = files(Some("updates = \"of\""), None);
        let error = resolve(&typo.system, None, &typo.user).unwrap_err();
        assert!(
            error.to_string().contains("etc/pane/config.toml, line 1"),
            "{error}"
        );
        // PANE_UPDATES in any case; a value that is none of the three is
        // passed over (the user's file decides) and said so.
        let user_auto = files(None, Some("updates = \"auto\""));
        let resolved = resolve(&user_auto.system, Some(" OFF "), &user_auto.user).unwrap();
        assert_eq!(
            (resolved.policy, &resolved.source, &resolved.ignored),
            (UpdatePolicy::Off, &PolicySource::Environment, &None)
        );
        let resolved = resolve(&user_auto.system, Some("never"), &user_auto.user).unwrap();
        assert_eq!(resolved.policy, UpdatePolicy::Auto);
        assert!(
            resolved.ignored.as_deref().unwrap().contains("\"never\""),
            "{resolved:?}"
        );
        // Not reached under an administrator's file: nothing to say.
        let admin = files(Some("updates = \"off\""), None);
        let resolved = resolve(&admin.system, Some("never"), &admin.user).unwrap();
        assert!(resolved.administrator_off() && resolved.ignored.is_none());
        // A broken user file does not matter while the environment decides.
        let broken_user = files(None, Some("updates = ???"));
        assert!(resolve(&broken_user.system, Some("auto"), &broken_user.user).is_ok());
        assert!(resolve(&broken_user.system, None, &broken_user.user).is_err());
    }

    #[test]
    fn setting_the_user_policy_keeps_other_lines() {
        let user = files(
            None,
            Some("# mine\nupdates = \"notify\" # old\n[proxy]\nurl = \"x\"\n"),
        );
        write_user_policy(&user.user, UpdatePolicy::Auto).unwrap();
        let text = std::fs::read_to_string(&user.user).unwrap();
        assert_eq!(text, "# mine\nupdates = \"auto\"\n[proxy]\nurl = \"x\"\n");
        assert_eq!(read_policy(&user.user).unwrap(), Some(UpdatePolicy::Auto));

        let tables_only = files(None, Some("[proxy]\nupdates = \"off\"\n"));
        write_user_policy(&tables_only.user, UpdatePolicy::Off).unwrap();
        let text = std::fs::read_to_string(&tables_only.user).unwrap();
        assert_eq!(text, "updates = \"off\"\n[proxy]\nupdates = \"off\"\n");

        let fresh = files(None, None);
        write_user_policy(&fresh.user, UpdatePolicy::Notify).unwrap();
        assert_eq!(
            read_policy(&fresh.user).unwrap(),
            Some(UpdatePolicy::Notify)
        );
    }

    /// A dotfiles manager keeps the config as a link into its repository:
    /// the setting goes into the file linked to, which keeps its mode, and
    /// the link stays a link.
    #[cfg(unix)]
    #[test]
    fn setting_the_user_policy_writes_through_a_link_and_keeps_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("dotfiles/pane");
        std::fs::create_dir_all(&repo).unwrap();
        let real = repo.join("config.toml");
        std::fs::write(&real, "# mine\nupdates = \"notify\"\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
        let config = dir.path().join("config/pane");
        std::fs::create_dir_all(&config).unwrap();
        let link = config.join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();

        write_user_policy(&link, UpdatePolicy::Auto).unwrap();
        let placed = std::fs::symlink_metadata(&link).unwrap();
        assert!(placed.file_type().is_symlink(), "the link was replaced");
        assert_eq!(std::fs::read_link(&link).unwrap(), real);
        let text = std::fs::read_to_string(&real).unwrap();
        assert_eq!(text, "# mine\nupdates = \"auto\"\n");
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        // Nothing was left beside the link or the file.
        for dir in [&config, &repo] {
            assert_eq!(
                std::fs::read_dir(dir).unwrap().count(),
                1,
                "{}",
                dir.display()
            );
        }

        // A regular file keeps its mode too.
        std::fs::remove_file(&link).unwrap();
        std::fs::rename(&real, &link).unwrap();
        write_user_policy(&link, UpdatePolicy::Off).unwrap();
        let mode = std::fs::metadata(&link).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        assert_eq!(read_policy(&link).unwrap(), Some(UpdatePolicy::Off));
    }
}
