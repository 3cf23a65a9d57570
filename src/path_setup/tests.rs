//! Table tests of the pure planning and text helpers.

use super::*;

fn ctx() -> PathContext {
    PathContext {
        home: PathBuf::from("/home/u"),
        install_dir: PathBuf::from("/home/u/.local/bin"),
        path_env: Some("/usr/bin:/bin".into()),
        ..PathContext::default()
    }
}

fn survey_with(files: &[(&str, &str)]) -> Survey {
    let mut survey = Survey::default();
    for (path, contents) in files {
        survey
            .files
            .insert(PathBuf::from(path), Some(contents.as_bytes().to_vec()));
    }
    survey
}

fn appended(plan: &Plan) -> Vec<(String, String)> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            Action::Append { file, text, .. } => Some((file.display().to_string(), text.clone())),
            _ => None,
        })
        .collect()
}

const LINE: &str = ". \"$HOME/.local/bin/pane.env\"";

#[test]
fn source_line_forms() {
    let home = Path::new("/home/u");
    let cases = [
        ("/home/u/.local/bin", ". \"$HOME/.local/bin/pane.env\""),
        ("/home/u", ". \"$HOME/pane.env\""),
        ("/opt/pane/bin", ". \"/opt/pane/bin/pane.env\""),
        ("/home/user2/bin", ". \"/home/user2/bin/pane.env\""),
        (
            "/home/u/we\"ird $dir`x\\",
            ". \"$HOME/we\\\"ird \\$dir\\`x\\\\/pane.env\"",
        ),
    ];
    for (dir, expected) in cases {
        assert_eq!(source_line(home, Path::new(dir), dir), expected, "{dir}");
    }
}

#[test]
fn already_on_path_changes_nothing() {
    for path in [
        "/usr/bin:/home/u/.local/bin",
        "/home/u/.local/bin/:/usr/bin",
        "/home/u/.local/bin",
    ] {
        let mut survey = survey_with(&[]);
        survey.on_path = true;
        let context = PathContext {
            path_env: Some(path.into()),
            ..ctx()
        };
        let plan = plan(&context, &survey).unwrap();
        assert!(plan.actions.is_empty(), "{path}");
        assert!(plan.result.edits.is_empty());
        assert!(plan.result.created_files.is_empty());
        assert!(plan.result.notes[0].contains("already on PATH"));
    }
}

#[test]
fn already_on_path_still_gets_its_completions_and_says_so() {
    let mut survey = survey_with(&[("/home/u/.zshrc", "")]);
    survey.on_path = true;
    let context = PathContext {
        path_env: Some("/home/u/.local/bin".into()),
        completions: vec![
            completion(CompletionShell::Bash, "complete -F _pane pane\n"),
            completion(CompletionShell::Zsh, "#compdef pane\n"),
        ],
        ..ctx()
    };
    let plan = plan(&context, &survey).unwrap();
    // No env file and no PATH line; the completions and zsh's fpath line only.
    let lines: Vec<&str> = plan.result.edits.iter().map(|e| e.line.as_str()).collect();
    assert_eq!(
        lines,
        ["fpath=(\"$HOME/.local/share/zsh/site-functions\" $fpath)"]
    );
    assert!(!plan
        .result
        .created_files
        .iter()
        .any(|f| f.ends_with("pane.env") || f.ends_with("pane.env.fish")));
    let notes = plan.result.notes.join("\n");
    assert!(
        notes.contains("already on PATH; no PATH line was added"),
        "{notes}"
    );
    assert!(
        notes.contains("installed completions for bash, zsh"),
        "{notes}"
    );
    assert!(!notes.contains("no shell profile was changed"), "{notes}");
}

/// (existing files, zsh on PATH, ZDOTDIR, files that get the line)
type ProfileCase<'a> = (
    &'a [(&'a str, &'a str)],
    bool,
    Option<&'a str>,
    &'a [&'a str],
);

#[test]
fn which_profiles_get_the_line() {
    let cases: &[ProfileCase] = &[
        (&[], false, None, &["/home/u/.profile"]),
        (
            &[("/home/u/.bashrc", "alias l=ls\n")],
            false,
            None,
            &["/home/u/.profile", "/home/u/.bashrc"],
        ),
        (
            &[
                ("/home/u/.bash_profile", ""),
                ("/home/u/.bash_login", "x\n"),
                ("/home/u/.profile", "y\n"),
            ],
            false,
            None,
            &[
                "/home/u/.profile",
                "/home/u/.bash_profile",
                "/home/u/.bash_login",
            ],
        ),
        (&[], true, None, &["/home/u/.profile", "/home/u/.zshenv"]),
        (
            &[("/home/u/.zshrc", "")],
            false,
            None,
            &["/home/u/.profile", "/home/u/.zshenv"],
        ),
        (
            &[],
            false,
            Some("/home/u/.config/zsh"),
            &["/home/u/.profile", "/home/u/.config/zsh/.zshenv"],
        ),
        (
            // A .zshrc in home does not count when ZDOTDIR points elsewhere... but ZDOTDIR
            // being set does.
            &[("/home/u/.zshrc", "")],
            false,
            Some("/z"),
            &["/home/u/.profile", "/z/.zshenv"],
        ),
    ];
    for (files, zsh_on_path, zdotdir, expected) in cases {
        let mut survey = survey_with(files);
        survey.zsh_on_path = *zsh_on_path;
        let context = PathContext {
            zdotdir: zdotdir.map(PathBuf::from),
            ..ctx()
        };
        let plan = plan(&context, &survey).unwrap();
        let files: Vec<String> = appended(&plan).into_iter().map(|(f, _)| f).collect();
        assert_eq!(&files, expected, "{files:?}");
        let edited: Vec<String> = plan
            .result
            .edits
            .iter()
            .map(|e| e.file.display().to_string())
            .collect();
        assert_eq!(&edited, expected);
    }
}

#[test]
fn appended_text_and_recorded_line() {
    // (existing contents of ~/.profile, appended text, recorded line)
    let cases: &[(Option<&str>, &str, &str)] = &[
        (None, ". \"$HOME/.local/bin/pane.env\"\n", LINE),
        (Some(""), ". \"$HOME/.local/bin/pane.env\"\n", LINE),
        (Some("a\n"), ". \"$HOME/.local/bin/pane.env\"\n", LINE),
        (
            Some("a"),
            "\n. \"$HOME/.local/bin/pane.env\"\n",
            "\n. \"$HOME/.local/bin/pane.env\"",
        ),
    ];
    for (existing, text, line) in cases {
        let mut survey = Survey::default();
        survey.files.insert(
            PathBuf::from("/home/u/.profile"),
            existing.map(|e| e.as_bytes().to_vec()),
        );
        let plan = plan(&ctx(), &survey).unwrap();
        assert_eq!(
            appended(&plan),
            vec![("/home/u/.profile".to_string(), text.to_string())]
        );
        assert_eq!(plan.result.edits[0].line, *line);
        assert_eq!(
            plan.result
                .created_files
                .contains(&PathBuf::from("/home/u/.profile")),
            existing.is_none()
        );
        // And undoing that edit gives the previous bytes back.
        let before = existing.unwrap_or("").as_bytes();
        let after = [before, text.as_bytes()].concat();
        assert_eq!(remove_line(&after, line).unwrap(), before);
    }
}

#[test]
fn second_run_changes_nothing() {
    let context = ctx();
    let first = plan(&context, &survey_with(&[("/home/u/.bashrc", "x")])).unwrap();
    // Simulate the file system after the first run.
    let mut survey = Survey::default();
    for action in &first.actions {
        match action {
            Action::WriteOwned { path, contents } => {
                survey
                    .files
                    .insert(path.clone(), Some(contents.as_bytes().to_vec()));
            }
            Action::Append { file, text, .. } => {
                let before = if file.ends_with(".bashrc") { "x" } else { "" };
                survey
                    .files
                    .insert(file.clone(), Some(format!("{before}{text}").into_bytes()));
            }
            Action::CreateDir(_) => {}
        }
    }
    let second = plan(&context, &survey).unwrap();
    assert_eq!(second.actions, vec![]);
    assert!(second.result.notes[0].contains("already in place"));
    // The lines found are not claimed: the first run's records are what undo uses.
    assert!(second.result.edits.is_empty(), "{:?}", second.result.edits);
}

#[test]
fn owned_files_and_missing_dirs() {
    let mut survey = survey_with(&[]);
    survey.missing_dirs = vec![
        PathBuf::from("/home/u/.config"),
        PathBuf::from("/home/u/.config/fish"),
        PathBuf::from("/home/u/.config/fish/conf.d"),
    ];
    let plan = plan(&ctx(), &survey).unwrap();
    assert_eq!(
        plan.result.created_files,
        [
            "/home/u/.local/bin/pane.env",
            "/home/u/.config",
            "/home/u/.config/fish",
            "/home/u/.config/fish/conf.d",
            "/home/u/.config/fish/conf.d/pane.env.fish",
            "/home/u/.profile",
        ]
        .map(PathBuf::from)
    );
    let context = PathContext {
        xdg_config_home: Some("/x".into()),
        ..ctx()
    };
    let plan = super::plan(&context, &survey_with(&[])).unwrap();
    assert!(plan
        .actions
        .iter()
        .any(|a| matches!(a, Action::WriteOwned { path, .. } if path == Path::new("/x/fish/conf.d/pane.env.fish"))));
}

#[test]
fn github_path() {
    let cases: &[(&str, Option<&str>)] = &[
        ("", Some("/home/u/.local/bin\n")),
        ("/a\n", Some("/home/u/.local/bin\n")),
        ("/a", Some("\n/home/u/.local/bin\n")),
        ("/a\n/home/u/.local/bin\n", None),
    ];
    for (existing, expected) in cases {
        let context = PathContext {
            github_path: Some("/gh".into()),
            ..ctx()
        };
        let plan = plan(&context, &survey_with(&[("/gh", existing)])).unwrap();
        let gh: Vec<String> = appended(&plan)
            .into_iter()
            .filter(|(f, _)| f == "/gh")
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            gh,
            expected.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        assert!(plan.result.edits.iter().all(|e| e.file != Path::new("/gh")));
    }
}

#[test]
fn unusable_install_dirs() {
    for dir in ["relative/bin", "/home/u/new\nline"] {
        let context = PathContext {
            install_dir: dir.into(),
            ..ctx()
        };
        let error = plan(&context, &survey_with(&[])).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("--no-modify-path"));
    }
}

#[test]
fn remove_line_cases() {
    // (contents, line, result)
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("a\nL\n", "L", Some("a\n")),
        ("L\n", "L", Some("")),
        ("a\nL", "L", Some("a\n")),
        ("a\nL\nb\n", "L", Some("a\nb\n")),
        ("L\nL\n", "L", Some("L\n")),
        ("aL\n", "L", None),
        ("a\nLx\n", "L", None),
        ("a\nL\n", "\nL", Some("a")),
        ("a\nL\nb\n", "\nL", Some("a\nb\n")),
        ("a\n", "L", None),
    ];
    for (contents, line, expected) in cases {
        let result = remove_line(contents.as_bytes(), line);
        assert_eq!(
            result.as_deref(),
            expected.map(str::as_bytes),
            "{contents:?} - {line:?}"
        );
    }
}

#[test]
fn scripts_quote_the_dir() {
    let env = env_script("/opt/it's");
    assert!(env.contains("*:'/opt/it'\\''s':*) ;;"), "{env}");
    assert!(env.contains("export PATH='/opt/it'\\''s'\"${PATH:+:${PATH}}\""));
    let fish = fish_script("/opt/it's\\x");
    assert!(
        fish.contains("contains -- '/opt/it\\'s\\\\x' $PATH"),
        "{fish}"
    );
}

#[test]
fn merge_keeps_earlier_records_first() {
    let first = ProfileEdit {
        file: "/p".into(),
        line: "\nL".into(),
        other: Default::default(),
    };
    let second = ProfileEdit {
        file: "/p".into(),
        line: "L".into(),
        other: Default::default(),
    };
    let setup = PathSetup {
        edits: vec![second.clone()],
        created_files: vec!["/env".into()],
        notes: vec![],
    };
    let (edits, created) = merge_records(
        std::slice::from_ref(&first),
        &["/p".into(), "/env".into()],
        &setup,
    );
    assert_eq!(edits, vec![first, second]);
    assert_eq!(created, vec![PathBuf::from("/p"), PathBuf::from("/env")]);
}

fn completion(shell: CompletionShell, script: &str) -> Completion {
    Completion {
        shell,
        script: script.to_string(),
    }
}

#[test]
fn completions_go_where_each_shell_looks() {
    let context = PathContext {
        zdotdir: Some("/home/u/.zsh".into()),
        completions: vec![
            completion(CompletionShell::Bash, "complete -F _pane pane\n"),
            completion(CompletionShell::Zsh, "#compdef pane\n_pane() {}\n"),
            completion(CompletionShell::Fish, "complete -c pane\n"),
        ],
        ..ctx()
    };
    let mut survey = survey_with(&[]);
    survey.missing_dirs = vec![
        "/home/u/.local/share/bash-completion".into(),
        "/home/u/.local/share/bash-completion/completions".into(),
        "/home/u/.local/share/zsh".into(),
        "/home/u/.local/share/zsh/site-functions".into(),
    ];
    let plan = plan(&context, &survey).unwrap();
    let written: Vec<(&Path, &str)> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::WriteOwned { path, contents } => Some((path.as_path(), contents.as_str())),
            _ => None,
        })
        .collect();
    let bash = Path::new("/home/u/.local/share/bash-completion/completions/pane");
    let zsh = Path::new("/home/u/.local/share/zsh/site-functions/_pane");
    let fish = Path::new("/home/u/.config/fish/completions/pane.fish");
    for file in [bash, zsh, fish] {
        let (_, contents) = written.iter().find(|(p, _)| *p == file).expect("written");
        assert!(contents.contains(OWNED_MARKER), "{file:?}");
        assert!(plan.result.created_files.iter().any(|c| c == file));
    }
    // zsh reads #compdef from the first line.
    let (_, zsh_script) = written.iter().find(|(p, _)| *p == zsh).unwrap();
    assert!(zsh_script.starts_with("#compdef pane\n"), "{zsh_script}");
    // Each missing directory is created before the file in it, once.
    let dir = |d: &str| Action::CreateDir(d.into());
    let at = |action: &Action| plan.actions.iter().position(|a| a == action).unwrap();
    let write_at = |file: &Path| {
        plan.actions
            .iter()
            .position(|a| matches!(a, Action::WriteOwned { path, .. } if path == file))
            .unwrap()
    };
    assert!(at(&dir("/home/u/.local/share/bash-completion/completions")) < write_at(bash));
    assert!(at(&dir("/home/u/.local/share/zsh/site-functions")) < write_at(zsh));
    // zsh finds the function through fpath, set in .zshenv before any compinit.
    let fpath = "fpath=(\"$HOME/.local/share/zsh/site-functions\" $fpath)";
    assert!(
        plan.result
            .edits
            .iter()
            .any(|e| e.file == Path::new("/home/u/.zsh/.zshenv") && e.line == fpath),
        "{:?}",
        plan.result.edits
    );
}

#[test]
fn a_completion_file_pane_did_not_write_is_kept() {
    let context = PathContext {
        completions: vec![completion(CompletionShell::Fish, "complete -c pane\n")],
        ..ctx()
    };
    let survey = survey_with(&[("/home/u/.config/fish/completions/pane.fish", "mine\n")]);
    let plan = plan(&context, &survey).unwrap();
    assert!(plan.actions.iter().all(|a| !matches!(
        a,
        Action::WriteOwned { path, .. } if path.ends_with("pane.fish") && path.starts_with("/home/u/.config/fish/completions")
    )));
    assert!(plan
        .result
        .notes
        .iter()
        .any(|n| n.contains("pane did not write")));
    assert!(!plan
        .result
        .created_files
        .iter()
        .any(|c| c.ends_with("completions/pane.fish")));
}
