//! Command-line arguments as the user typed them (validated, not yet resolved).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// runway renders the Kubernetes manifests of a production runtime from typed components,
/// a platform base and your override files.
#[derive(Debug, Parser)]
#[command(name = "runway", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the objects to standard output (or a directory).
    Render(RenderArgs),
    /// Show the value at a path and the layers that set it.
    Explain(ExplainArgs),
    /// Render and check, printing only a summary.
    Validate(ValidateArgs),
    /// List the components, or one component's parameters and objects.
    Components(ComponentsArgs),
    /// Print the JSON schema of layer files (for editors).
    Schema,
    /// Draw the stack: components, objects and the references between them.
    Graph(GraphArgs),
    /// Compare two renders object by object, or the stack at a git revision with the
    /// working tree (exit 0: no change, 1: changes, 2: error).
    Diff(DiffArgs),
    /// Render every cluster of a fleet file in parallel, one directory per cluster.
    Fleet(FleetArgs),
}

/// The layers of a render, lowest precedence first.
#[derive(Debug, Args, Clone, Default)]
pub struct LayerArgs {
    /// Platform base: aks, eks, gke, onprem or kind.
    #[arg(long, value_name = "NAME")]
    pub platform: Option<String>,
    /// A platform base file of your own, instead of an embedded one.
    #[arg(long, value_name = "FILE", conflicts_with = "platform")]
    pub platform_file: Option<PathBuf>,
    /// A stack file: platform, config, components, overrides and inline blocks.
    #[arg(long, value_name = "FILE")]
    pub stack: Option<PathBuf>,
    /// An override file (repeatable, in order; `-` reads standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value: `component.path=value` (repeatable; `\.` for a literal dot, `[N]` for a list index).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Set a value as a string, whatever it looks like.
    #[arg(long = "set-string", value_name = "PATH=VALUE")]
    pub set_strings: Vec<String>,
    /// Set a value to a file's content, as a string (a dashboard's JSON).
    #[arg(long = "set-file", value_name = "PATH=FILE")]
    pub set_files: Vec<String>,
    /// Secret values (component: {key: value}) for the Secrets runway renders; never echoed.
    #[arg(long = "secrets-file", value_name = "FILE")]
    pub secrets_files: Vec<PathBuf>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum Format {
    /// A YAML stream, `---` between objects.
    #[default]
    Yaml,
    /// A `v1/List` in JSON.
    Json,
}

/// `runway render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The layers.
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Write one file per object under DIR/COMPONENT/ instead of standard output (atomic).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Refuse the render if it changes an immutable field of an object in PREVIOUS (a
    /// render: file, directory or `-`), as the API server would on apply.
    #[arg(long, value_name = "PREVIOUS")]
    pub check_upgrade: Option<PathBuf>,
    /// What GitOps tools need.
    #[command(flatten)]
    pub gitops: GitOpsArgs,
    /// List on standard error, one `Kind namespace/name` a line, the objects the render
    /// references that the cluster must already hold.
    #[arg(long)]
    pub list_externals: bool,
}

/// What GitOps tools need on top of the objects (`render` and `fleet`).
#[derive(Debug, Args, Clone, Default)]
pub struct GitOpsArgs {
    /// With `--output-dir`: also write DIR/kustomization.yaml listing the files in apply
    /// order, for `kubectl apply -k DIR` and Flux.
    #[arg(long, requires = "output_dir")]
    pub kustomization: bool,
    /// Annotate every object whose text holds `${` with
    /// `kustomize.toolkit.fluxcd.io/substitute: disabled` (Flux then leaves it byte-exact).
    #[arg(long)]
    pub flux_safe: bool,
    /// Add an ApplySet parent Secret (in NAMESPACE, else the namespace holding most
    /// objects) and `applyset.kubernetes.io/part-of` labels, for `kubectl apply --prune --applyset`.
    #[arg(long, value_name = "[NAMESPACE/]NAME")]
    pub applyset: Option<String>,
    /// Add `argocd.argoproj.io/sync-wave` annotations: Namespaces and CRDs (-2), RBAC and
    /// config (-1), workloads (0), Ingresses, HPAs, PDBs and custom resources (1).
    #[arg(long)]
    pub argocd_sync_waves: bool,
}

/// `runway fleet`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The fleet file: clusters, and the groups whose layers they share.
    pub fleet: PathBuf,
    /// Write DIR/CLUSTER/COMPONENT/KIND-NAME.yaml for every cluster (all or nothing).
    #[arg(long, value_name = "DIR", required_unless_present = "cluster")]
    pub output_dir: Option<PathBuf>,
    /// Render only this cluster, to standard output (as Argo CD's plugin does).
    #[arg(long, value_name = "NAME", conflicts_with = "output_dir")]
    pub cluster: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// What GitOps tools need.
    #[command(flatten)]
    pub gitops: GitOpsArgs,
}

/// `runway validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The layers.
    #[command(flatten)]
    pub layers: LayerArgs,
    /// List on standard error, one `Kind namespace/name` a line, the objects the render
    /// references that the cluster must already hold.
    #[arg(long)]
    pub list_externals: bool,
}

/// Output formats of `runway diff`.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DiffFormat {
    /// A line per object with its changed fields, then unified diffs.
    #[default]
    Text,
    /// A pull-request comment: a summary table, then a collapsible block per object.
    Markdown,
    /// JSON, for bots.
    Json,
}

/// `runway diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old render: a YAML stream or JSON `v1/List` file, a directory of them, or `-`.
    #[arg(required_unless_present = "base", conflicts_with = "base")]
    pub old: Option<PathBuf>,
    /// The new render: a YAML stream or JSON `v1/List` file, a directory of them, or `-`.
    #[arg(required_unless_present = "base", conflicts_with = "base")]
    pub new: Option<PathBuf>,
    /// Render the stack of the layer flags at git revision REV and in the working tree,
    /// and compare the two (`--base origin/main` in a pull request). Every input file
    /// (stack, its overrides, `-f`, `--set-file`, `--platform-file`) is read at REV with
    /// `git show REV:path`; secrets files come from the working tree for both. Both sides
    /// are rendered by this runway binary: a change to runway's own component code between
    /// the revisions is not reflected, only the effect of the input changes.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The layers (with `--base`).
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Show Secret `data` and `stringData` values instead of `***`.
    #[arg(long)]
    pub show_secrets: bool,
    /// With `--format markdown`: add a Mermaid graph of the changed objects and their
    /// neighbours (what references them and what they reference).
    #[arg(long)]
    pub graph: bool,
}

/// Output formats of `runway graph`.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum GraphFormat {
    /// A Mermaid flowchart (GitHub and GitLab render it in Markdown).
    #[default]
    Mermaid,
    /// A Graphviz digraph.
    Dot,
    /// A self-contained SVG image, laid out by runway (no Graphviz needed).
    Svg,
}

/// `runway graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The layers.
    #[command(flatten)]
    pub layers: LayerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
    /// Draw only this component's objects and their direct neighbours.
    #[arg(long, value_name = "NAME")]
    pub component: Option<String>,
}

/// `runway explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The path: `elasticsearch.replicas` or `elasticsearch.sts.spec.replicas`.
    pub path: String,
    /// The layers.
    #[command(flatten)]
    pub layers: LayerArgs,
}

/// `runway components`.
#[derive(Debug, Args)]
pub struct ComponentsArgs {
    /// A component to describe.
    pub name: Option<String>,
}
