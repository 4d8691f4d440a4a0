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
    /// Compare two renders object by object (exit 0: no change, 1: changes, 2: error).
    Diff(DiffArgs),
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
    /// List on standard error, one `Kind namespace/name` a line, the objects the render
    /// references that the cluster must already hold.
    #[arg(long)]
    pub list_externals: bool,
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
    pub old: PathBuf,
    /// The new render: a YAML stream or JSON `v1/List` file, a directory of them, or `-`.
    pub new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Show Secret `data` and `stringData` values instead of `***`.
    #[arg(long)]
    pub show_secrets: bool,
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
