//! Every kind of bad input: a non-zero exit, nothing on standard output, and a message
//! that names file:line:column and the key path. One fixture file per case under
//! fixtures/errors/ (the table): its first line says how runway is called (`# args: ...`,
//! where `$FILE` is the fixture itself), an optional second line what standard input holds
//! (`# stdin: ...`), and `# expect: ...` lines at its end (so they shift no line number)
//! what the message must contain. The whole stderr is also snapshotted in snapshots/errors/.

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
    assert!(names.len() >= 40, "expected at least 40 bad-input cases, found {}", names.len());
    let settings = snapshot_settings("errors");
    settings.bind(|| {
        for name in &names {
            // Read as bytes: one fixture is deliberately not UTF-8 after its header.
            let bytes = std::fs::read(dir.join(name)).expect("fixture readable");
            let text = String::from_utf8_lossy(&bytes);
            let first = text.lines().next().unwrap_or_default();
            let Some(args) = first.strip_prefix("# args: ") else {
                panic!("{name}: the first line must be `# args: ...`");
            };
            let args: Vec<String> = args.split_whitespace().map(|a| a.replace("$FILE", name)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let stdin = text.lines().nth(1).and_then(|l| l.strip_prefix("# stdin: ")).map(|s| s.replace("\\n", "\n"));
            let expects: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("# expect: ")).collect();
            assert!(!expects.is_empty(), "{name}: says nothing it expects (`# expect: ...` lines at its end)");
            let o = runway_in(&dir, &args, stdin.as_deref());
            assert!(!o.status.success(), "{name}: runway succeeded but should fail");
            assert_eq!(o.status.code(), Some(1), "{name}: exit code (2 is for usage errors, signals mean a crash)");
            assert!(o.stdout.is_empty(), "{name}: wrote to stdout on failure:\n{}", stdout(&o));
            let err = stderr(&o);
            assert!(!err.contains("panicked"), "{name}: panicked:\n{err}");
            assert!(err.starts_with("error: "), "{name}: message does not start with `error: `:\n{err}");
            for expect in &expects {
                assert!(err.contains(expect), "{name}: message lacks `{expect}`:\n{err}");
            }
            insta::assert_snapshot!(name.trim_end_matches(".yaml"), format!("$ runway {}\n{err}", args.join(" ")));
        }
    });
}

#[test]
fn usage_errors_exit_1_without_output() {
    for args in [
        vec!["render", "--platform", "gke", "--platform-file", "x.yaml"],
        vec!["render", "--format", "toml", "--platform", "gke"],
        vec!["frobnicate"],
        vec![],
    ] {
        let o = runway(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert!(stderr(&o).contains("error") || stderr(&o).contains("Usage"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn diff_usage_errors_exit_2_because_1_means_changes() {
    let o = runway(&["diff", "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn help_and_version_succeed_on_stdout() {
    for args in [vec!["--help"], vec!["render", "--help"], vec!["--version"]] {
        let o = runway(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        assert!(!o.stdout.is_empty() && o.stderr.is_empty(), "{args:?}");
    }
}

/// Runs runway with `input` on standard input, which it may stop reading early (a refused
/// 17 MiB input): a closed pipe on our side is expected, not a failure.
fn runway_with_stdin_bytes(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_runway"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runway starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let _ = pipe.write_all(input);
    drop(pipe);
    child.wait_with_output().expect("runway finishes")
}

fn assert_bad_input(o: &std::process::Output, expect: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(o.stdout.is_empty());
    assert!(err.starts_with("error: ") && err.contains(expect), "message lacks `{expect}`:\n{err}");
}

#[test]
fn an_input_file_over_16_mib_is_refused_before_it_is_parsed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("huge.yaml");
    let mut text = String::from("elasticsearch:\n  replicas: 3\n");
    text.push_str(&"# padding\n".repeat(1_800_000));
    std::fs::write(&path, &text).expect("written");
    let p = path.to_string_lossy().into_owned();
    let o = runway(&["render", "--platform", "gke", "-f", &p]);
    assert_bad_input(&o, "17.2 MiB: runway reads input files of at most 16 MiB");
}

#[test]
fn standard_input_over_16_mib_is_refused() {
    let input = "# padding\n".repeat(1_800_000);
    let o = runway_with_stdin_bytes(&["render", "--platform", "gke", "-f", "-"], input.as_bytes());
    assert_bad_input(&o, "cannot read `<stdin>`: more than the limit: runway reads input files of at most 16 MiB");
}

#[test]
fn standard_input_that_is_not_utf8_names_line_and_column() {
    let o =
        runway_with_stdin_bytes(&["render", "--platform", "gke", "-f", "-"], b"config:\n  dns_zone: caf\xe9.example\n");
    assert_bad_input(&o, "not UTF-8 text: byte 0xe9 at <stdin>:2:16");
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_first_key() {
    let o = runway_with_stdin_bytes(
        &["render", "--platform", "gke", "-f", "-", "--set", "config.cloud.gcp_project=p"],
        "\u{feff}config:\n  dns_zone: example.com\n".as_bytes(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
}
