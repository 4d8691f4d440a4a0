//! `runway graph`: the stack's components, objects and references as Mermaid, DOT or SVG.
//! The graph itself is `runway_core::graph`.

use clap::ArgMatches;
use runway_components::ALL;
use runway_core::graph::Graph;

use super::layers;
use crate::args::{GraphArgs, GraphFormat};

/// Runs `runway graph`: the picture, or the error message.
pub fn run(a: &GraphArgs, matches: Option<&ArgMatches>) -> Result<String, String> {
    let stack = layers::build(&a.layers, matches)?;
    let out = stack.render(ALL).map_err(|e| e.render())?;
    let objects: Vec<(&str, &serde_json::Value)> =
        out.objects.iter().map(|o| (o.component.as_str(), &*o.value)).collect();
    let mut graph = Graph::build(&objects);
    if let Some(name) = &a.component {
        // Aliases (`edns`) name the same component.
        let canonical = ALL.iter().find(|c| c.name() == name || c.aliases().contains(&name.as_str())).map(|c| c.name());
        let Some(canonical) = canonical.filter(|c| graph.nodes.iter().any(|n| n.component == *c)) else {
            let mut drawn: Vec<&str> = graph.nodes.iter().map(|n| n.component.as_str()).collect();
            drawn.dedup();
            let help = match runway_core::suggest::best_match(name, drawn.iter().copied()) {
                Some(m) => format!("  = help: did you mean `{m}`?\n"),
                None => String::new(),
            };
            return Err(format!(
                "error: `--component {name}`: no such component in this render\n{help}  = note: the graph has {}\n",
                drawn.join(", ")
            ));
        };
        graph = graph.neighbourhood(|n| n.component == canonical);
    }
    Ok(match a.format {
        GraphFormat::Mermaid => graph.to_mermaid(),
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Svg => graph.to_svg(),
    })
}
