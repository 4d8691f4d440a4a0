//! The verbs. Each returns the text for standard output and an exit code, or the rendered
//! error message and an exit code.

mod components;
mod diff;
mod fleet;
mod git;
mod graph;
mod layers;
mod schema;

use clap::ArgMatches;
use runway_components::{files, RenderOptions, ALL};
use runway_core::KeyPath;

use crate::args::{Cli, Command, Format};

/// What a verb prints on standard output, and the exit code it asks for.
pub struct Outcome {
    /// Text for standard output.
    pub stdout: String,
    /// Exit code: 0, or 1 for `diff` with changes.
    pub code: u8,
}

/// A failed verb: the full message for standard error, and the exit code.
pub struct Failure {
    /// Text for standard error.
    pub message: String,
    /// Exit code: 1, or 2 for `diff` (as `kubectl diff`: 1 means changes).
    pub code: u8,
}

/// Runs a command.
pub fn run(cli: Cli, matches: &ArgMatches) -> Result<Outcome, Failure> {
    if let Command::Diff(a) = &cli.command {
        return match diff::run(a, matches.subcommand_matches("diff")) {
            Ok((stdout, changed)) => Ok(Outcome { stdout, code: u8::from(changed) }),
            Err(message) => Err(Failure { message, code: 2 }),
        };
    }
    match run_verb(cli, matches) {
        Ok(stdout) => Ok(Outcome { stdout, code: 0 }),
        Err(message) => Err(Failure { message, code: 1 }),
    }
}

/// Runs a verb whose errors exit with 1; `Err` holds the full error message.
fn run_verb(cli: Cli, matches: &ArgMatches) -> Result<String, String> {
    match cli.command {
        Command::Render(a) => {
            let sub = matches.subcommand_matches("render");
            let stack = layers::build(&a.layers, sub)?;
            let mut out = stack.render(ALL).map_err(|e| e.render())?;
            // Notes follow only a successful command: after an error, stderr is the error.
            if let Some(prev) = &a.check_upgrade {
                // `-f -` already took standard input.
                let mut stdin_used = a.layers.files.iter().any(|f| f.as_os_str() == "-");
                let previous = diff::read_render(prev, &mut stdin_used)?;
                let new: Vec<serde_json::Value> = out.objects.iter().map(|o| (*o.value).clone()).collect();
                let changes = runway_core::diff::immutable_changes(&previous, &new);
                if !changes.is_empty() {
                    return Err(diff::upgrade_errors(&changes));
                }
            }
            let gitops = fleet::gitops_options(&a.gitops)?;
            out.apply_gitops(&gitops);
            if let Some(dir) = &a.output_dir {
                let files = out.files_for(a.format == Format::Json, &gitops);
                files::write_tree(dir, &files).map_err(|e| e.render(&out.sources))?;
                note_externals(&out, a.list_externals);
                eprintln!("wrote {} objects under {}", out.objects.len(), dir.display());
                return Ok(String::new());
            }
            note_externals(&out, a.list_externals);
            let text = match a.format {
                Format::Yaml => out.to_yaml(),
                Format::Json => out.to_json_list(),
            };
            // The process ends right after printing: freeing ~1 MB of JSON trees object by
            // object would be a tenth of the whole run, for memory the OS takes back anyway.
            std::mem::forget(out);
            std::mem::forget(stack);
            Ok(text)
        }
        Command::Explain(a) => {
            let sub = matches.subcommand_matches("explain");
            let stack = layers::build(&a.layers, sub)?;
            let path = KeyPath::parse(&a.path).map_err(|e| format!("error: {e}\n"))?;
            // Only the component the path names is built: its trail needs no other.
            let only = match path.segments().first() {
                Some(runway_core::Segment::Key(k)) if k != "platform" && k != "config" => Some(k.clone()),
                _ => None,
            };
            let out = stack.render_with(ALL, RenderOptions { keep_trails: true, only }).map_err(|e| e.render())?;
            let ex = out.explain(&path).map_err(|e| e.render(&out.sources))?;
            Ok(ex.to_string())
        }
        Command::Validate(a) => {
            let sub = matches.subcommand_matches("validate");
            let stack = layers::build(&a.layers, sub)?;
            let out = stack.render(ALL).map_err(|e| e.render())?;
            note_externals(&out, a.list_externals);
            Ok(format!("ok: {} objects render and read back into their Kubernetes types\n", out.objects.len()))
        }
        Command::Graph(a) => graph::run(&a, matches.subcommand_matches("graph")),
        Command::Components(a) => components::run(a.name.as_deref()),
        Command::Schema => Ok(schema::layer_schema()),
        Command::Fleet(a) => fleet::run(&a),
        Command::Diff(a) => diff::run(&a, matches.subcommand_matches("diff")).map(|(text, _)| text),
    }
}

/// Tells (on standard error) which objects the cluster must already hold: Secrets whose
/// values were not given with `--secrets-file`, and targets declared external. With
/// `list`, one `Kind namespace/name` a line (for scripts: `2>&1 >/dev/null`); otherwise a
/// one-line note with the count, so every render does not repeat the list.
fn note_externals(out: &runway_components::Rendered, list: bool) {
    eprint!("{}", externals_text(&out.externals, list));
}

/// The text [`note_externals`] prints.
fn externals_text(externals: &std::collections::BTreeSet<runway_core::refs::ExternalRef>, list: bool) -> String {
    if list {
        return externals
            .iter()
            .map(
                |(kind, ns, name)| {
                    if ns.is_empty() {
                        format!("{kind} {name}\n")
                    } else {
                        format!("{kind} {ns}/{name}\n")
                    }
                },
            )
            .collect();
    }
    if externals.is_empty() {
        return String::new();
    }
    format!(
        "note: the cluster must already hold {} object(s) this render references (`--list-externals` lists them; `--secrets-file` renders Secrets from their values)\n",
        externals.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn externals_are_listed_one_a_line_on_request_and_counted_otherwise() {
        let ext = std::collections::BTreeSet::from([
            ("Secret".to_string(), "kubeprod".to_string(), "oauth2-proxy".to_string()),
            ("PriorityClass".to_string(), String::new(), "high".to_string()),
        ]);
        assert_eq!(externals_text(&ext, true), "PriorityClass high\nSecret kubeprod/oauth2-proxy\n");
        assert!(externals_text(&ext, false).starts_with("note: the cluster must already hold 2 object(s)"));
        assert_eq!(externals_text(&Default::default(), false), "");
    }
}
