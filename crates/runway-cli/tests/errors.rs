//! Every kind of bad input: a non-zero exit, nothing on standard output, and a message
//! that names file:line:column and the key path. One fixture file per case under
//! fixtures/errors/; its first line says how runway is called (`# args: ...`, where
//! `$FILE` is the fixture itself), and its stderr is snapshotted in snapshots/errors/.

mod common;

use common::*;

#[test]
fn every_error_fixture_fails_cleanly_with_its_message() {
    let dir = root().join("crates/runway-cli/tests/fixtures/errors");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 15, "expected the error fixtures, found {}", names.len());
    let settings = snapshot_settings("errors");
    settings.bind(|| {
        for name in &names {
            let text = std::fs::read_to_string(dir.join(name)).expect("fixture readable");
            let first = text.lines().next().unwrap_or_default();
            let Some(args) = first.strip_prefix("# args: ") else {
                panic!("{name}: the first line must be `# args: ...`");
            };
            let args: Vec<String> = args.split_whitespace().map(|a| a.replace("$FILE", name)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let stdin = text.lines().nth(1).and_then(|l| l.strip_prefix("# stdin: ")).map(|s| s.replace("\\n", "\n"));
            let o = runway_in(&dir, &args, stdin.as_deref());
            assert!(!o.status.success(), "{name}: runway succeeded but should fail");
            assert_eq!(o.status.code(), Some(1), "{name}: exit code (2 is for usage errors, signals mean a crash)");
            assert!(o.stdout.is_empty(), "{name}: wrote to stdout on failure:\n{}", stdout(&o));
            let err = stderr(&o);
            assert!(!err.contains("panicked"), "{name}: panicked:\n{err}");
            assert!(err.starts_with("error: "), "{name}: message does not start with `error: `:\n{err}");
            insta::assert_snapshot!(name.trim_end_matches(".yaml"), format!("$ runway {}\n{err}", args.join(" ")));
        }
    });
}

#[test]
fn usage_errors_exit_2_without_output() {
    for args in [
        vec!["render", "--platform", "gke", "--platform-file", "x.yaml"],
        vec!["render", "--format", "toml", "--platform", "gke"],
        vec!["frobnicate"],
    ] {
        let o = runway(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
}
