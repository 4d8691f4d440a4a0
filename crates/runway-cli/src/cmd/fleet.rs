//! `runway fleet`: every cluster of a fleet file, rendered in parallel by the library
//! ([`runway_components::Fleet`]); this verb adds the progress bar (on a terminal only)
//! and the summary on standard error.

use std::io::IsTerminal;
use std::time::Instant;

use runway_components::{Fleet, FleetOptions, GitOpsOptions};

use crate::args::{FleetArgs, Format, GitOpsArgs};

/// How many failed clusters are shown in full; the rest are named on one line.
const SHOWN_ERRORS: usize = 3;

/// The library's options from the flags; `Err` for a malformed `--applyset`.
pub fn gitops_options(a: &GitOpsArgs) -> Result<GitOpsOptions, String> {
    let applyset = match a.applyset.as_deref() {
        None => None,
        Some(s) => {
            let (ns, name) = match s.split_once('/') {
                Some((ns, name)) => (Some(ns.to_string()), name),
                None => (None, s),
            };
            let ok = |n: &str| runway_core::names::is_dns_subdomain(n);
            if !ok(name) || ns.as_deref().is_some_and(|n| !runway_core::names::is_dns_label(n)) {
                return Err(format!(
                    "error: `--applyset {s}`: expected NAME or NAMESPACE/NAME (a Secret's name, lowercase)\n"
                ));
            }
            Some((ns, name.to_string()))
        }
    };
    Ok(GitOpsOptions {
        kustomization: a.kustomization,
        flux_safe: a.flux_safe,
        applyset,
        argocd_sync_waves: a.argocd_sync_waves,
    })
}

/// Runs `runway fleet`; `Ok` is the text for standard output (one cluster with `--cluster`).
pub fn run(a: &FleetArgs) -> Result<String, String> {
    let start = Instant::now();
    let gitops = gitops_options(&a.gitops)?;
    let fleet = Fleet::load(&a.fleet).map_err(|e| e.render())?;
    if let Some(name) = &a.cluster {
        let i = fleet.cluster_index(name).map_err(|e| e.render())?;
        let out = fleet.render_cluster(i, &gitops).map_err(|e| e.render())?;
        eprintln!("rendered cluster `{name}`: {} objects", out.objects.len());
        return Ok(match a.format {
            Format::Yaml => out.to_yaml(),
            Format::Json => out.to_json_list(),
        });
    }
    // clap requires --output-dir when --cluster is absent.
    let Some(dir) = &a.output_dir else { return Err("error: give `--output-dir DIR` or `--cluster NAME`\n".into()) };
    let total = fleet.spec.clusters.len();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} clusters {elapsed}") {
            bar.set_style(style);
        }
        bar
    });
    let progress = |_: &str| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let opts = FleetOptions { json: a.format == Format::Json, gitops };
    let result = fleet.render_to(dir, &opts, &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(s) => {
            eprintln!(
                "rendered {} clusters: {} objects, {:.1} MB in {:.2} s under {}",
                s.clusters,
                s.objects,
                s.bytes as f64 / 1e6,
                start.elapsed().as_secs_f64(),
                dir.display()
            );
            Ok(String::new())
        }
        Err(errors) => {
            let mut msg: String = errors.iter().take(SHOWN_ERRORS).map(|e| e.render()).collect();
            if errors.len() > SHOWN_ERRORS {
                let rest: Vec<&str> = errors[SHOWN_ERRORS..].iter().filter_map(|e| e.cluster.as_deref()).collect();
                msg.push_str(&format!("error: {} more clusters failed: {}\n", rest.len(), rest.join(", ")));
            }
            msg.push_str(&format!(
                "error: {} of {total} clusters failed; nothing was written ({} is as it was)\n",
                errors.len(),
                dir.display()
            ));
            Err(msg)
        }
    }
}
