//! `runway diff` and `runway render --check-upgrade` end to end, on renders of the GKE
//! example stack.

mod common;

use std::path::{Path, PathBuf};

use common::{render_ok, runway, runway_in, stderr, stdout};

const STACK: &[&str] = &["render", "--stack", "examples/gke/stack.yaml"];
const REPLICAS: &[&str] = &["--set", "elasticsearch.replicas=6", "--set", "elasticsearch.min_master_nodes=4"];
const STORAGE: &[&str] = &["--set", "elasticsearch.storage=200Gi"];

/// Renders the GKE stack with `extra` flags into `dir/name`.
fn render_to(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let args: Vec<&str> = STACK.iter().chain(extra).copied().collect();
    let path = dir.join(name);
    std::fs::write(&path, render_ok(&args)).expect("render written");
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

#[test]
fn identical_renders_exit_0_with_no_output() {
    let t = tempfile::tempdir().unwrap();
    let a = render_to(t.path(), "a.yaml", &[]);
    let b = render_to(t.path(), "b.yaml", &[]);
    let o = runway(&["diff", s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "");
}

#[test]
fn a_change_exits_1_and_names_the_field_with_old_and_new_values() {
    let t = tempfile::tempdir().unwrap();
    let a = render_to(t.path(), "a.yaml", &[]);
    let b = render_to(t.path(), "b.yaml", REPLICAS);
    let o = runway(&["diff", s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("~ StatefulSet kubeprod/elasticsearch-logging"), "{out}");
    let line = out.lines().find(|l| l.trim_start().starts_with("spec.replicas:")).expect("spec.replicas is listed");
    assert!(line.contains("→ 6"), "{line}");
    assert!(out.contains("+++ b/StatefulSet kubeprod/elasticsearch-logging"), "{out}");
    assert!(out.contains("\n+  replicas: 6\n"), "{out}");
    assert!(!out.contains("\x1b["), "no colour without a terminal");
}

const OBJS: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\n  namespace: a\ndata:\n  x: '1'\n---\n\
apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gone\n  namespace: a\n";
const OBJS2: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: a, name: kept}\ndata: {x: '1'}\n---\n\
apiVersion: v1\nkind: Namespace\nmetadata:\n  name: fresh\n";

#[test]
fn added_and_removed_objects_are_listed_in_apply_order() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("old.yaml"), OBJS).unwrap();
    std::fs::write(t.path().join("new.yaml"), OBJS2).unwrap();
    let o = runway_in(t.path(), &["diff", "old.yaml", "-"], Some(OBJS2));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let summary: Vec<&str> = out.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(summary, ["+ Namespace fresh", "- ConfigMap a/gone", "1 added, 0 changed, 1 removed"], "{out}");
}

#[test]
fn secret_values_are_redacted_unless_show_secrets() {
    let t = tempfile::tempdir().unwrap();
    let secret = |v: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: a\ndata:\n  password: {v}\n")
    };
    std::fs::write(t.path().join("old.yaml"), secret("b2xkLXNlY3JldA==")).unwrap();
    std::fs::write(t.path().join("new.yaml"), secret("bmV3LXNlY3JldA==")).unwrap();
    let o = runway_in(t.path(), &["diff", "old.yaml", "new.yaml"], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(!out.contains("b2xkLXNlY3JldA==") && !out.contains("bmV3LXNlY3JldA=="), "{out}");
    assert!(out.contains("*** (before)") && out.contains("*** (after)"), "{out}");
    let shown = stdout(&runway_in(t.path(), &["diff", "--show-secrets", "old.yaml", "new.yaml"], None));
    assert!(shown.contains("b2xkLXNlY3JldA==") && shown.contains("bmV3LXNlY3JldA=="), "{shown}");
}

#[test]
fn markdown_has_a_summary_table_and_details_blocks() {
    let t = tempfile::tempdir().unwrap();
    let a = render_to(t.path(), "a.yaml", &[]);
    let b = render_to(t.path(), "b.yaml", STORAGE);
    let o = runway(&["diff", "--format", "markdown", s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("| | Kind | Namespace | Name | Fields |"), "{out}");
    assert!(out.contains("| ~ ⚠️ | StatefulSet | kubeprod | elasticsearch-logging |"), "{out}");
    assert!(out.contains("<details><summary>~ StatefulSet kubeprod/elasticsearch-logging</summary>"), "{out}");
    assert!(out.contains("```diff\n"), "{out}");
    assert!(out.contains("! immutable:") && out.contains("spec.volumeClaimTemplates"), "{out}");
}

#[test]
fn json_parses_and_flags_immutable_changes() {
    let t = tempfile::tempdir().unwrap();
    let a = render_to(t.path(), "a.yaml", &[]);
    let b = render_to(t.path(), "b.yaml", STORAGE);
    let o = runway(&["diff", "--format", "json", s(&a), s(&b)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("diff --format json is JSON");
    // The StatefulSet, and the release ConfigMap that records the inputs' checksum.
    assert_eq!(v["changed"], 2);
    let sts = v["objects"].as_array().unwrap().iter().find(|o| o["kind"] == "StatefulSet").unwrap();
    assert_eq!(sts["immutable"][0]["path"], "spec.volumeClaimTemplates");
    let text = stdout(&runway(&["diff", s(&a), s(&b)]));
    assert!(text.contains("! immutable: spec.volumeClaimTemplates: delete the StatefulSet"), "{text}");
}

#[test]
fn directory_input_equals_file_input() {
    let t = tempfile::tempdir().unwrap();
    let a = render_to(t.path(), "a.yaml", &[]);
    let b = render_to(t.path(), "b.yaml", REPLICAS);
    let dir = t.path().join("tree");
    let args: Vec<&str> = STACK.iter().chain(REPLICAS).copied().chain(["--output-dir", s(&dir)]).collect();
    let o = runway(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let from_file = runway(&["diff", s(&a), s(&b)]);
    let from_dir = runway(&["diff", s(&a), s(&dir)]);
    assert_eq!(from_dir.status.code(), Some(1), "{}", stderr(&from_dir));
    assert_eq!(stdout(&from_dir), stdout(&from_file));
    assert_eq!(runway(&["diff", s(&b), s(&dir)]).status.code(), Some(0));
}

#[test]
fn errors_exit_2() {
    let o = runway(&["diff", "no/such/file.yaml", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.yaml"), "{}", stderr(&o));
    assert_eq!(runway(&["diff", "-", "-"]).status.code(), Some(2));
}

#[test]
fn check_upgrade_refuses_an_immutable_change_with_a_hint() {
    let t = tempfile::tempdir().unwrap();
    let prev = render_to(t.path(), "deployed.yaml", &[]);
    let args: Vec<&str> = STACK.iter().chain(STORAGE).copied().chain(["--check-upgrade", s(&prev)]).collect();
    let o = runway(&args);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "nothing on stdout");
    let err = stderr(&o);
    assert!(err.contains("StatefulSet/kubeprod/elasticsearch-logging: spec.volumeClaimTemplates"), "{err}");
    assert!(err.contains("kubectl delete sts elasticsearch-logging -n kubeprod --cascade=orphan"), "{err}");
}

#[test]
fn check_upgrade_accepts_a_replicas_change() {
    let t = tempfile::tempdir().unwrap();
    let prev = render_to(t.path(), "deployed.yaml", &[]);
    let args: Vec<&str> = STACK.iter().chain(REPLICAS).copied().chain(["--check-upgrade", s(&prev)]).collect();
    let o = runway(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("replicas: 6"));
}

/// Runs `git ARGS` in `dir`, failing the test if git fails.
fn git(dir: &Path, args: &[&str]) {
    let o = std::process::Command::new("git")
        .args(["-c", "user.name=runway-test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

/// A git repository holding the GKE example stack and the override files it names,
/// committed once.
fn repo_with_gke_stack() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("temporary folder");
    let root = common::root();
    std::fs::create_dir_all(t.path().join("examples/gke")).expect("folder created");
    std::fs::create_dir_all(t.path().join("overrides")).expect("folder created");
    for f in ["examples/gke/stack.yaml", "examples/gke/prod.yaml", "overrides/elasticsearch-replicas.yaml"] {
        std::fs::copy(root.join(f), t.path().join(f)).expect("example file copied");
    }
    git(t.path(), &["init", "-q"]);
    git(t.path(), &["add", "-A"]);
    git(t.path(), &["commit", "-q", "-m", "the stack"]);
    t
}

const BASE: &[&str] = &["diff", "--base", "HEAD", "--stack", "examples/gke/stack.yaml"];

#[test]
fn base_with_no_change_exits_0() {
    let t = repo_with_gke_stack();
    let o = runway_in(t.path(), BASE, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn base_shows_an_override_changed_in_the_working_tree() {
    let t = repo_with_gke_stack();
    let f = t.path().join("overrides/elasticsearch-replicas.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.contains("replicas: 5"), "{text}");
    std::fs::write(
        &f,
        text.replace("replicas: 5", "replicas: 7").replace("min_master_nodes: 3", "min_master_nodes: 4"),
    )
    .unwrap();
    let o = runway_in(t.path(), BASE, None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("~ StatefulSet kubeprod/elasticsearch-logging\n    spec.replicas: 5 → 7\n"), "{out}");
    assert!(
        out.contains("~ PodDisruptionBudget kubeprod/elasticsearch-logging\n    spec.minAvailable: 3 → 4\n"),
        "{out}"
    );
    // From a subfolder, paths are relative to it as for `runway render`.
    let sub = runway_in(&t.path().join("examples"), &["diff", "--base", "HEAD", "--stack", "gke/stack.yaml"], None);
    assert_eq!(sub.status.code(), Some(1), "{}", stderr(&sub));
    assert!(stdout(&sub).contains("    spec.replicas: 5 → 7\n"), "{}", stdout(&sub));
    // Once committed, the working tree is the revision again.
    git(t.path(), &["commit", "-q", "-am", "seven nodes"]);
    assert_eq!(runway_in(t.path(), BASE, None).status.code(), Some(0));
    let md = runway_in(
        t.path(),
        &["diff", "--base", "HEAD~1", "--stack", "examples/gke/stack.yaml", "--format", "markdown"],
        None,
    );
    assert_eq!(md.status.code(), Some(1), "{}", stderr(&md));
    assert!(
        stdout(&md).contains("| ~ | StatefulSet | kubeprod | elasticsearch-logging | `spec.replicas` |"),
        "{}",
        stdout(&md)
    );
}

#[test]
fn base_reads_an_override_added_to_the_stack_only_in_the_working_tree() {
    let t = repo_with_gke_stack();
    std::fs::write(t.path().join("examples/gke/kibana.yaml"), "kibana:\n  replicas: 2\n").unwrap();
    let stack = t.path().join("examples/gke/stack.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(&stack, text.replace("  - prod.yaml\n", "  - prod.yaml\n  - kibana.yaml\n")).unwrap();
    let o = runway_in(t.path(), BASE, None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("~ Deployment kubeprod/kibana\n    spec.replicas: 1 → 2\n"), "{}", stdout(&o));
}

#[test]
fn base_names_a_file_missing_at_the_revision() {
    let t = repo_with_gke_stack();
    std::fs::write(t.path().join("overrides/new.yaml"), "kibana:\n  replicas: 2\n").unwrap();
    let args: Vec<&str> = BASE.iter().copied().chain(["-f", "overrides/new.yaml"]).collect();
    let o = runway_in(t.path(), &args, None);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert!(err.contains("cannot read `overrides/new.yaml`: no such file at revision `HEAD`"), "{err}");
    assert!(err.contains("while rendering the stack at revision `HEAD`"), "{err}");
}

#[test]
fn base_errors_outside_a_repository_or_for_an_unknown_revision() {
    let t = repo_with_gke_stack();
    let o = runway_in(t.path(), &["diff", "--base", "no-such-branch", "--stack", "examples/gke/stack.yaml"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`--base no-such-branch`: no such revision"), "{}", stderr(&o));
    let plain = tempfile::tempdir().unwrap();
    let o = runway_in(plain.path(), &["diff", "--base", "HEAD", "--platform", "gke"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs a git repository"), "{}", stderr(&o));
    let o = runway_in(t.path(), &["diff", "--base", "HEAD"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no layer flags"), "{}", stderr(&o));
    let o = runway_in(t.path(), &["diff", "a.yaml", "b.yaml", "--platform", "gke"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("layer flags (`--stack`, `--platform`, `-f`, `--set`, ...) go with `--base REV`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn base_reads_standard_input_once_for_both_sides() {
    let t = repo_with_gke_stack();
    let args: Vec<&str> = BASE.iter().copied().chain(["-f", "-"]).collect();
    let o = runway_in(t.path(), &args, Some("kibana:\n  replicas: 2\n"));
    // The same layer on both sides: no change.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Runs `runway diff OLD NEW` with standard output on a pseudo-terminal (util-linux
/// `script`), `NO_COLOR` set to `no_color` or removed.
fn diff_on_a_terminal(dir: &Path, no_color: Option<&str>) -> String {
    let cmd = format!("{} diff old.yaml new.yaml", env!("CARGO_BIN_EXE_runway"));
    let mut c = std::process::Command::new("script");
    c.args(["-q", "-e", "-c", &cmd, "/dev/null"]).current_dir(dir);
    match no_color {
        Some(v) => c.env("NO_COLOR", v),
        None => c.env_remove("NO_COLOR"),
    };
    let o = c.output().expect("`script` (util-linux) runs");
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("UTF-8")
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("old.yaml"), OBJS).unwrap();
    std::fs::write(t.path().join("new.yaml"), OBJS2).unwrap();
    let tty = diff_on_a_terminal(t.path(), None);
    assert!(tty.contains("\x1b[32m+ Namespace fresh\x1b[0m"), "{tty:?}");
    let no_color = diff_on_a_terminal(t.path(), Some("1"));
    assert!(no_color.contains("+ Namespace fresh") && !no_color.contains("\x1b["), "{no_color:?}");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(diff_on_a_terminal(t.path(), Some("")).contains("\x1b[32m"));
    // A pipe is no terminal, whatever NO_COLOR says.
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_runway"));
    let piped = c.args(["diff", "old.yaml", "new.yaml"]).current_dir(t.path()).env_remove("NO_COLOR").output().unwrap();
    assert_eq!(piped.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\x1b'));
}

#[test]
fn a_hashed_config_map_is_shown_as_a_rename_in_every_format() {
    let t = tempfile::tempdir().unwrap();
    let cm = |name: &str, level: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: a\ndata:\n  log_level: {level}\n"
        )
    };
    std::fs::write(t.path().join("old.yaml"), cm("app-config-5f8b9c7d2k", "info")).unwrap();
    std::fs::write(t.path().join("new.yaml"), cm("app-config-9m2h6t4b8c", "debug")).unwrap();
    let run = |format: &str| {
        let o = runway_in(t.path(), &["diff", "--format", format, "old.yaml", "new.yaml"], None);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        stdout(&o)
    };
    let text = run("text");
    assert!(
        text.starts_with(
            "> renamed: ConfigMap a/app-config-5f8b9c7d2k → a/app-config-9m2h6t4b8c\n    data.log_level: \"info\" → \"debug\"\n"
        ),
        "{text}"
    );
    assert!(text.contains("0 added, 0 changed, 1 renamed, 0 removed"), "{text}");
    let md = run("markdown");
    assert!(md.contains("| > | ConfigMap | a | app-config-5f8b9c7d2k → app-config-9m2h6t4b8c |"), "{md}");
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(
        (json["renamed"].clone(), json["added"].clone(), json["removed"].clone()),
        (1.into(), 0.into(), 0.into())
    );
    assert_eq!(json["objects"][0]["from"]["name"], "app-config-5f8b9c7d2k");
    assert_eq!(json["objects"][0]["name"], "app-config-9m2h6t4b8c");
}
