//! The `trellis` command line: arguments, exit codes, rendering. No compiler logic
//! lives here; every command calls the library.
//!
//! Exit codes: 0 success (warnings allowed), 1 the input has errors (or `fmt --check`
//! found unformatted files), 2 usage or I/O failure.

// Compiler code reports problems; it never unwraps or indexes out of bounds.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use trellis::diag::render::{self, TextStyle};
use trellis::diag::{codes, Diagnostic, Diagnostics};
use trellis::load;
use trellis::output::{OutputError, Staging};
use trellis::source::Sources;

// mimalloc: the pipeline allocates many small strings and vectors in worker threads;
// glibc malloc spent ~30% of a 10,000-service check in malloc/free and arena
// consolidation (perf). Its version 2 (the `v2` feature): version 3 touched about
// 35 MB more memory on a 10,000-service build, and touching fresh memory is what
// costs most here. See docs/performance.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the 16th entry of `mi_option_e` in
/// `mimalloc.h`; `libmimalloc-sys` names no constant for it): how many milliseconds
/// freed memory waits before it is given back to the system; -1 never gives it back.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory a stage frees for the next stages, for the one-shot commands.
///
/// By default mimalloc gives memory that stays free for 10 ms back to the system,
/// and a build frees and allocates tens of megabytes a stage at a time: at 10,000
/// services it gave back 210-280 MB, two to three times its peak, and took each
/// megabyte back from the system, zeroed, a stage later. Kept, the peak is the
/// same, and a build after another large program ran is about 5% faster
/// (docs/performance.md). The language server runs for hours, so it keeps the
/// default and gives memory back. `MIMALLOC_PURGE_DELAY` in the environment, as
/// mimalloc documents it, still decides.
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores one integer in mimalloc's option table; it
    // takes no pointer and any value is valid for this option.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

const EXAMPLES: &str = "\
Examples:
  trellis check examples/quickstart
  trellis check examples/quickstart --format json
  trellis build examples/quickstart -o out/
  trellis plan examples/quickstart
  trellis reach examples/multi-tier --cluster retail --from store/web --to store/db --port 5432
  trellis matrix examples/multi-tier --cluster retail --namespace store
  trellis report examples/quickstart -o report.html
  trellis fmt examples/ --check
  trellis explain TR0201";

#[derive(Parser)]
#[command(
    name = "trellis",
    version,
    about = "Compile the networking of applications on AKS on Windows Server",
    long_about = "trellis reads a project of KDL files that describes virtual networks, clusters, \
node pools, services, ingress and network policies, checks it, and compiles it into what a \
deployment needs.",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum MatrixFormat {
    Text,
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT, for `dot -Tsvg` or your own styling
    Dot,
    /// SVG laid out by trellis itself; needs no Graphviz
    Svg,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum LayoutArg {
    /// One file per object, listed by each cluster's kustomization.yaml
    Files,
    /// One multi-document YAML stream per cluster for Kubernetes, one for Calico
    Bundle,
}

impl From<LayoutArg> for trellis::emit::Layout {
    fn from(layout: LayoutArg) -> Self {
        match layout {
            LayoutArg::Files => trellis::emit::Layout::Files,
            LayoutArg::Bundle => trellis::emit::Layout::Bundle,
        }
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    /// A project folder (every *.kdl below it) or a single .kdl file
    path: PathBuf,
    /// How to print diagnostics: text for people, json for editors and CI
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Treat warnings as errors
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Check a project and report every problem
    #[command(after_help = "Example:\n  trellis check examples/quickstart --format json")]
    Check(CheckArgs),
    /// Check a project and write its outputs
    #[command(after_help = "Example:\n  trellis build examples/quickstart -o out/")]
    Build {
        #[command(flatten)]
        check: CheckArgs,
        /// Output folder (default: PATH/out for a folder)
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// How Kubernetes and Calico objects are laid out: one file per object, or
        /// one multi-document stream per cluster (kubernetes/manifests.yaml,
        /// calico/policies.yaml)
        #[arg(long, value_enum, default_value_t = LayoutArg::Files)]
        layout: LayoutArg,
    },
    /// Format trellis sources canonically, keeping comments
    #[command(after_help = "Example:\n  trellis fmt examples/ --check")]
    Fmt {
        /// A project folder or a single .kdl file
        path: PathBuf,
        /// Do not write; exit 1 and list the files that are not formatted
        #[arg(long)]
        check: bool,
    },
    /// Decide whether the policies allow one connection, and say which rule decided
    #[command(
        after_help = "Example:\n  trellis reach examples/multi-tier --cluster retail --from store/web --to store/db --port 5432/TCP"
    )]
    Reach {
        /// A project folder or a single .kdl file
        path: PathBuf,
        #[arg(long)]
        cluster: String,
        /// The source: namespace/workload, or an address outside the pods
        #[arg(long)]
        from: String,
        /// The destination: namespace/workload, or an address
        #[arg(long)]
        to: String,
        /// PORT or PORT/PROTOCOL (TCP, UDP, SCTP)
        #[arg(long)]
        port: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// The connectivity matrix of a cluster's workloads, or of a folder of
    /// Kubernetes manifests
    #[command(
        after_help = "Example:\n  trellis matrix examples/multi-tier --cluster retail --namespace store\n  trellis matrix examples/multi-tier --cluster retail --port 5432/TCP --format csv\n  trellis matrix --manifests ./deploy --namespace shop --format json"
    )]
    Matrix {
        /// A project folder or a single .kdl file
        #[arg(required_unless_present = "manifests", conflicts_with = "manifests")]
        path: Option<PathBuf>,
        #[arg(
            long,
            required_unless_present = "manifests",
            conflicts_with = "manifests"
        )]
        cluster: Option<String>,
        /// Instead of a project: a folder of Kubernetes YAML (Namespaces, Pods,
        /// Deployments, StatefulSets, DaemonSets, ReplicaSets, NetworkPolicies)
        #[arg(long, value_name = "DIR")]
        manifests: Option<PathBuf>,
        /// Only the workloads of this namespace
        #[arg(long)]
        namespace: Option<String>,
        /// Only this PORT or PORT/PROTOCOL; by default every port each destination declares
        #[arg(long)]
        port: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: MatrixFormat,
    },
    /// The topology as a graph: networks, clusters, load balancers, services,
    /// workloads, and the traffic policies allow
    #[command(
        after_help = "Example:\n  trellis graph examples/multi-tier --format svg > topology.svg\n  trellis graph examples/multi-tier | dot -Tsvg > topology.svg\n  trellis graph examples/shared-network --cluster orders"
    )]
    Graph {
        /// A project folder or a single .kdl file
        path: PathBuf,
        /// Only this cluster (and its network)
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// Write the project report: one self-contained HTML page with the address plan,
    /// clusters, frontends, connectivity, diagnostics and plan
    #[command(
        after_help = "Example:\n  trellis report examples/quickstart -o report.html\n\nThe report is written even when the project has errors (it lists them); the exit\ncode is then 1, as for `trellis check`."
    )]
    Report {
        /// A project folder or a single .kdl file
        path: PathBuf,
        /// Write the page to this file instead of standard output
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Treat warnings as errors
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Show what a build would change in trellis.lock, without writing anything
    #[command(after_help = "Example:\n  trellis plan examples/quickstart")]
    Plan(CheckArgs),
    /// Run the language server on stdin/stdout (for editors; see docs/editors.md)
    #[command(after_help = "Example:\n  trellis lsp")]
    Lsp,
    /// Print the long explanation of a diagnostic code
    #[command(after_help = "Example:\n  trellis explain TR0201\n  trellis explain unknown-node")]
    Explain {
        /// A code such as TR0201, or its name such as unknown-node
        code: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The compiler recurses over nesting that `parse` bounds; a generous stack keeps
    // even the bound far from the limit.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => ExitCode::from(code),
        _ => {
            eprintln!(
                "error: internal compiler error; please report it with the input that caused it"
            );
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> u8 {
    if !matches!(cli.command, Command::Lsp) {
        keep_freed_memory();
    }
    match cli.command {
        Command::Check(args) => run_check(&args, None),
        Command::Build {
            check,
            output,
            layout,
        } => {
            let out = output.unwrap_or_else(|| default_output(&check.path));
            run_check(&check, Some((&out, layout.into())))
        }
        Command::Plan(args) => run_plan(&args),
        Command::Reach {
            path,
            cluster,
            from,
            to,
            port,
            format,
        } => run_reach(&path, &cluster, &from, &to, &port, format),
        Command::Matrix {
            path,
            cluster,
            manifests,
            namespace,
            port,
            format,
        } => match (manifests, path, cluster) {
            (Some(dir), _, _) => {
                run_matrix_manifests(&dir, namespace.as_deref(), port.as_deref(), format)
            }
            (None, Some(path), Some(cluster)) => run_matrix(
                &path,
                &cluster,
                namespace.as_deref(),
                port.as_deref(),
                format,
            ),
            _ => io_failure("matrix needs PATH and --cluster, or --manifests DIR"),
        },
        Command::Graph {
            path,
            cluster,
            format,
        } => run_graph(&path, cluster.as_deref(), format),
        Command::Report {
            path,
            output,
            deny_warnings,
        } => run_report(&path, output.as_deref(), deny_warnings),
        Command::Fmt { path, check } => run_fmt(&path, check),
        Command::Explain { code } => run_explain(&code),
        Command::Lsp => match trellis::lsp::run_stdio() {
            Ok(true) => 0,
            // `exit` without `shutdown` first: exit code 1, as the protocol says.
            Ok(false) => 1,
            Err(e) => io_failure(format!("language server: {e}")),
        },
    }
}

fn default_output(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("out")
    } else {
        path.parent().unwrap_or(Path::new(".")).join("out")
    }
}

fn io_failure(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    2
}

fn load_project(path: &Path, skip: &[PathBuf]) -> Result<load::Project, u8> {
    let project = load::load(path, skip).map_err(io_failure)?;
    if project.sources.is_empty() {
        return Err(io_failure(format!(
            "{}: no .kdl files found",
            path.display()
        )));
    }
    Ok(project)
}

/// `check`, or `build` when `output` gives the output folder and the layout.
fn run_check(args: &CheckArgs, output: Option<(&Path, trellis::emit::Layout)>) -> u8 {
    let skip: Vec<PathBuf> = output
        .map(|(dir, _)| dir.to_path_buf())
        .into_iter()
        .collect();
    let project = match trellis::timing::stage("load", || load_project(&args.path, &skip)) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = trellis::Options {
        deny_warnings: args.deny_warnings,
        // `check` writes nothing; `build` (with an output folder) needs the files.
        skip_emit: output.is_none(),
        layout: output.map(|(_, layout)| layout).unwrap_or_default(),
    };
    // `build` writes each group of artifacts into the temporary output folder as
    // soon as it is made, and drops it; the folder is swapped in once the build
    // has succeeded, and removed otherwise.
    let mut staged: Option<Result<Staging, OutputError>> = None;
    let compilation = trellis::timing::stage("compile", || match output {
        Some((dir, _)) => {
            let mut sink = |made: Vec<trellis::emit::Artifact>| {
                let staging = staged.get_or_insert_with(|| Staging::begin(dir));
                let failed = match staging {
                    Ok(s) => trellis::timing::stage("write outputs", || s.write(&made)).err(),
                    Err(_) => None,
                };
                if let Some(e) = failed {
                    *staging = Err(e);
                }
            };
            trellis::compile_into(
                &project.sources,
                project.diagnostics,
                &options,
                Some(&mut sink),
            )
        }
        None => trellis::compile(&project.sources, project.diagnostics, &options),
    });
    let output = output.map(|(dir, _)| (dir, staged));
    let code = finish_check(args, output, &compilation, &project.sources, &project.root);
    // The process ends once this returns: leave the model, the outputs and the
    // sources to the operating system instead of freeing them piece by piece.
    std::mem::forget(compilation);
    std::mem::forget(project.sources);
    code
}

/// `check`'s report, and for `build` (`output`: the output folder and what was
/// written into its temporary folder) the swap, the lock and the summary.
fn finish_check(
    args: &CheckArgs,
    output: Option<(&Path, Option<Result<Staging, OutputError>>)>,
    compilation: &trellis::Compilation,
    sources: &Sources,
    root: &Path,
) -> u8 {
    report(&compilation.diagnostics, sources, args.format);
    // With errors (or warnings denied), what was written is removed as `output`
    // is dropped; the previous output stays.
    if compilation.has_errors() {
        return 1;
    }
    let (Some((out_dir, staged)), Some(alloc)) = (output, &compilation.allocation) else {
        return 0;
    };
    // Every group of artifacts is written; an error while writing stops the build
    // here.
    let staging = match staged.unwrap_or_else(|| Staging::begin(out_dir)) {
        Ok(staging) => staging,
        Err(e) => return io_failure(e),
    };
    let files = staging.files();
    // `build`: swap the outputs in (all or nothing), record the allocation, then say
    // what it holds.
    use trellis::timing::stage;
    // The lock's text and the summary are made while the outputs are swapped in; the
    // lock is written only once they are.
    let (written, (text, said)) = trellis::par::join(
        || stage("swap outputs", || staging.commit()),
        || {
            trellis::par::join(
                || stage("lock render", || trellis::lock::render(alloc)),
                || matches!(args.format, Format::Text).then(|| stage("summary", || summary(alloc))),
            )
        },
    );
    let unchanged = sources.lock().is_some_and(|(_, file)| file.text == text);
    if let Err(e) = written {
        return io_failure(e);
    }
    let lock_path = root.join(trellis::lock::LOCK_FILE);
    if !unchanged {
        if let Err(e) = write_atomically(&lock_path, &text) {
            return io_failure(format!("{}: {e}", lock_path.display()));
        }
    }
    if let Some(said) = said {
        print!("{}{said}", summary_head(alloc, unchanged));
        println!(
            "wrote {files} file{} to {}",
            if files == 1 { "" } else { "s" },
            out_dir.display()
        );
    }
    0
}

/// The first line of the account of the allocation: how much is new.
fn summary_head(alloc: &trellis::alloc::Allocation, unchanged: bool) -> String {
    use trellis::alloc::Origin;
    let origins = alloc
        .addresses
        .iter()
        .map(|a| a.origin)
        .chain(alloc.node_ports.iter().map(|p| p.origin));
    let (mut new, mut kept, mut pinned) = (0, 0, 0);
    for origin in origins {
        match origin {
            Origin::New => new += 1,
            Origin::Locked => kept += 1,
            Origin::Pinned => pinned += 1,
        }
    }
    format!(
        "allocated: {new} new, {kept} kept from trellis.lock, {pinned} pinned ({})\n",
        if unchanged {
            "trellis.lock unchanged"
        } else {
            "trellis.lock written"
        }
    )
}

/// The rest of the account of the allocation: where everything is, a line each.
fn summary(alloc: &trellis::alloc::Allocation) -> String {
    use std::fmt::Write;
    use trellis::alloc::AllocKey;
    // Node VMs are summarised per cluster; everything else gets a line, by cluster.
    // Lines are written in place (writing to a `String` cannot fail): at 10,000
    // services there are 20,000.
    let mut nodes: std::collections::BTreeMap<&str, (usize, std::net::IpAddr, std::net::IpAddr)> =
        std::collections::BTreeMap::new();
    let mut lines: Vec<(&str, String)> =
        Vec::with_capacity(alloc.addresses.len() + alloc.node_ports.len());
    for a in &alloc.addresses {
        let owner = a.key.cluster().unwrap_or("(host)");
        match &a.key {
            AllocKey::HostNode(_)
            | AllocKey::ControlPlane(..)
            | AllocKey::Worker(..)
            | AllocKey::Upgrade(..)
            | AllocKey::LoadBalancer(..) => {
                let entry = nodes.entry(owner).or_insert((0, a.address, a.address));
                entry.0 += 1;
                entry.1 = entry.1.min(a.address);
                entry.2 = entry.2.max(a.address);
            }
            key => {
                let mut line = String::with_capacity(80);
                let _ = write!(line, "{:<15} {}", a.address, key.describe());
                lines.push((a.key.cluster().unwrap_or(""), line));
            }
        }
    }
    for (owner, (count, lo, hi)) in nodes {
        let cluster = if owner == "(host)" { "" } else { owner };
        let whose = if owner == "(host)" {
            "the AKS host".to_string()
        } else {
            format!("cluster `{owner}`")
        };
        lines.push((
            cluster,
            format!(
                "{:<15} {count} node addresses of {whose} ({lo} to {hi})",
                ""
            ),
        ));
    }
    for p in &alloc.node_ports {
        // `:port` padded to 15, as the addresses are.
        let mut line = String::with_capacity(80);
        let _ = write!(line, ":{:<14} {}", p.node_port, p.key.describe());
        lines.push((p.cluster.as_str(), line));
    }
    lines.sort_unstable();
    let mut out = String::with_capacity(lines.iter().map(|(_, l)| l.len() + 3).sum());
    for (_, line) in lines {
        out.push_str("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn run_plan(args: &CheckArgs) -> u8 {
    let project = match load_project(&args.path, &[]) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = trellis::Options {
        deny_warnings: args.deny_warnings,
        skip_emit: true,
        ..trellis::Options::default()
    };
    let compilation = trellis::compile(&project.sources, project.diagnostics, &options);
    report(&compilation.diagnostics, &project.sources, args.format);
    if compilation.has_errors() {
        return 1;
    }
    let Some(alloc) = &compilation.allocation else {
        return 0;
    };
    let lock = compilation.lock.clone().unwrap_or_default();
    let changes = trellis::lock::diff(&lock, alloc);
    if changes.is_empty() {
        println!("no changes: trellis.lock is up to date");
        return 0;
    }
    println!(
        "a build would change trellis.lock in {} place{}:",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    );
    for change in changes {
        use trellis::lock::Change;
        let line = match change {
            Change::Added { key, value } => format!("+ {value:<36} {}", key.describe()),
            Change::Removed { key, value } => format!("- {value:<36} {}", key.describe()),
            Change::Moved { key, from, to } => {
                format!("~ {to:<36} {} (was {from})", key.describe())
            }
            Change::Plugin { cluster, from, to } => {
                format!(
                    "! cluster `{cluster}` plugin {} -> {} (re-creates the cluster)",
                    from.as_str(),
                    to.as_str()
                )
            }
        };
        println!("  {}", line.trim_end());
    }
    0
}

fn report(diags: &[Diagnostic], sources: &Sources, format: Format) {
    match format {
        Format::Json => {
            let text = render::render_json(diags, sources);
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
        Format::Text => {
            if diags.is_empty() {
                return;
            }
            let style = TextStyle {
                color: std::io::stderr().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
                width: terminal_width(),
            };
            let text = render::render_text(diags, sources, style);
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(100)
}

/// `trellis report`: the page is produced whatever the project's state; diagnostics
/// go to standard error as for `check`, and the exit code is 1 when there are errors.
fn run_report(path: &Path, output: Option<&Path>, deny_warnings: bool) -> u8 {
    let project = match load_project(path, &[]) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = trellis::Options {
        deny_warnings,
        // The report shows the plan and the allocation, not the generated files.
        skip_emit: true,
        ..trellis::Options::default()
    };
    let compilation = trellis::compile(&project.sources, project.diagnostics, &options);
    report(&compilation.diagnostics, &project.sources, Format::Text);
    let data =
        trellis::report::prepare(&compilation, &project.sources, &path.display().to_string());
    let page = match trellis::report::render(&data) {
        Ok(page) => page,
        Err(e) => return io_failure(format!("internal error: the report template: {e}")),
    };
    match output {
        Some(file) => {
            if let Err(e) = write_atomically(file, &page) {
                return io_failure(format!("{}: {e}", file.display()));
            }
        }
        None => {
            if let Err(e) = std::io::stdout().lock().write_all(page.as_bytes()) {
                return io_failure(e);
            }
        }
    }
    u8::from(compilation.has_errors())
}

fn run_fmt(path: &Path, check: bool) -> u8 {
    let project = match load_project(path, &[]) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut diags = Diagnostics::new();
    let skip: Vec<_> = project.diagnostics.iter().map(|d| d.span.file).collect();
    diags.extend(project.diagnostics);
    let mut changed = Vec::new();
    for (id, file) in project.sources.iter() {
        if skip.contains(&id) {
            continue;
        }
        if let Some(formatted) = trellis::fmt::format_source(id, &file.text, &mut diags) {
            if formatted != file.text {
                changed.push((file.path.clone(), formatted));
            }
        }
    }
    let diags = diags.into_sorted();
    if !diags.is_empty() {
        report(&diags, &project.sources, Format::Text);
        return 1;
    }
    let is_single_file = path.is_file();
    for (rel, formatted) in &changed {
        let full = if is_single_file {
            path.to_path_buf()
        } else {
            project.root.join(rel)
        };
        if check {
            println!("{}", full.display());
        } else if let Err(e) = write_atomically(&full, formatted) {
            return io_failure(format!("{}: {e}", full.display()));
        }
    }
    if check && !changed.is_empty() {
        eprintln!("{} file(s) would be reformatted", changed.len());
        return 1;
    }
    0
}

/// Writes through a temporary file in the same folder and renames it over the
/// target, so an interrupted write never leaves a half-written source file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.trellis-fmt.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn run_explain(key: &str) -> u8 {
    match codes::lookup(key) {
        Some(code) => {
            println!("{} {} ({})\n", code.code, code.name, code.severity.as_str());
            print!("{}", code.explanation);
            0
        }
        None => {
            let names = codes::ALL.iter().flat_map(|c| [c.code, c.name]);
            match trellis::suggest::did_you_mean(key, names) {
                Some(best) => {
                    eprintln!("error: unknown diagnostic code `{key}`; did you mean `{best}`?")
                }
                None => eprintln!("error: unknown diagnostic code `{key}`; codes look like TR0201"),
            }
            2
        }
    }
}

/// Compiles a project for `reach` and `matrix`; prints its problems and fails on
/// errors.
fn compile_for_queries(path: &Path) -> Result<(load::Project, trellis::Compilation), u8> {
    let mut project = load_project(path, &[])?;
    // The loader's problems (an unreadable file) count as the compiler's.
    let diags = std::mem::take(&mut project.diagnostics);
    let options = trellis::Options {
        skip_emit: true,
        ..trellis::Options::default()
    };
    let compilation = trellis::compile(&project.sources, diags, &options);
    if compilation.has_errors() {
        report(&compilation.diagnostics, &project.sources, Format::Text);
        return Err(1);
    }
    Ok((project, compilation))
}

fn run_graph(path: &Path, cluster: Option<&str>, format: GraphFormat) -> u8 {
    let (_, compilation) = match compile_for_queries(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Some(c) = cluster {
        if let Err(code) = find_cluster(&compilation, c, path) {
            return code;
        }
    }
    let Some(alloc) = compilation.allocation.as_ref() else {
        return io_failure("the project has errors; run `trellis check`");
    };
    match format {
        GraphFormat::Dot => print!(
            "{}",
            trellis::graph::dot(&compilation.model, alloc, cluster)
        ),
        GraphFormat::Svg => print!(
            "{}",
            trellis::graph_svg::svg(&compilation.model, alloc, cluster)
        ),
    }
    0
}

/// The cluster named `name`, or the usage failure that says it does not exist.
fn find_cluster<'c>(
    compilation: &'c trellis::Compilation,
    name: &str,
    path: &Path,
) -> Result<&'c trellis::model::Cluster, u8> {
    compilation
        .model
        .clusters
        .iter()
        .find(|c| c.name.value == name)
        .ok_or_else(|| io_failure(format!("no cluster `{name}` in {}", path.display())))
}

fn parse_port(text: &str) -> Option<(u16, trellis::model::Protocol)> {
    use trellis::model::Protocol;
    let (port, proto) = text.split_once('/').unwrap_or((text, "TCP"));
    let protocol = match proto.to_ascii_uppercase().as_str() {
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        "SCTP" => Protocol::Sctp,
        _ => return None,
    };
    Some((port.parse().ok().filter(|p| *p > 0)?, protocol))
}

fn parse_endpoint<'m>(
    engine: &trellis::reach::Engine<'m>,
    text: &str,
) -> Option<trellis::reach::Endpoint<'m>> {
    match text.split_once('/') {
        Some((ns, name)) => engine.workload(ns, name).map(trellis::reach::Endpoint::Pod),
        None => text.parse().ok().map(trellis::reach::Endpoint::External),
    }
}

fn side_json(side: &trellis::reach::Side, sources: &Sources) -> serde_json::Value {
    use trellis::reach::Reason;
    let place = |span: trellis::source::Span| {
        sources.get(span.file).map(|f| {
            let (line, column) = f.line_col(span.start as usize);
            serde_json::json!({"file": f.path, "line": line, "column": column})
        })
    };
    let (reason, policies, at) = match &side.reason {
        Reason::Rule {
            policy, rule_span, ..
        } => ("rule", vec![policy.clone()], place(*rule_span)),
        Reason::Isolated { policies } => (
            "isolated",
            policies.iter().map(|(n, _)| n.clone()).collect(),
            policies.first().and_then(|(_, s)| place(*s)),
        ),
        Reason::NotSelected => ("not-selected", Vec::new(), None),
        Reason::External => ("external", Vec::new(), None),
    };
    serde_json::json!({"allowed": side.allowed, "reason": reason, "policies": policies, "at": at})
}

fn run_reach(path: &Path, cluster: &str, from: &str, to: &str, port: &str, format: Format) -> u8 {
    let (project, compilation) = match compile_for_queries(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let c = match find_cluster(&compilation, cluster, path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let engine =
        trellis::reach::Engine::new(&compilation.model, compilation.allocation.as_ref(), c);
    let Some((port, protocol)) = parse_port(port) else {
        return io_failure(format!("`{port}` is not PORT or PORT/PROTOCOL"));
    };
    let (Some(src), Some(dst)) = (parse_endpoint(&engine, from), parse_endpoint(&engine, to))
    else {
        return io_failure(format!(
            "--from and --to take namespace/workload of cluster `{cluster}`, or an address"
        ));
    };
    let verdict = engine.decide(src, dst, port, protocol);
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "cluster": cluster,
                "from": src.describe(),
                "to": dst.describe(),
                "port": port,
                "protocol": protocol.as_str(),
                "allowed": verdict.allowed,
                "egress": side_json(&verdict.egress, &project.sources),
                "ingress": side_json(&verdict.ingress, &project.sources),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Text => {
            println!(
                "{} → {} on {port}/{}: {}",
                src.describe(),
                dst.describe(),
                protocol.as_str(),
                if verdict.allowed { "allowed" } else { "denied" }
            );
            for (side, name) in [
                (&verdict.egress, format!("egress of {}", src.describe())),
                (&verdict.ingress, format!("ingress of {}", dst.describe())),
            ] {
                let (text, related) = trellis::check::expect::explain_side(side, &name);
                let place = related
                    .and_then(|(span, _)| {
                        let f = project.sources.get(span.file)?;
                        let (line, col) = f.line_col(span.start as usize);
                        Some(format!(" ({}:{line}:{col})", f.path))
                    })
                    .unwrap_or_default();
                println!("  {text}{place}");
            }
        }
    }
    0
}

fn run_matrix(
    path: &Path,
    cluster: &str,
    namespace: Option<&str>,
    port: Option<&str>,
    format: MatrixFormat,
) -> u8 {
    let (_, compilation) = match compile_for_queries(path) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let c = match find_cluster(&compilation, cluster, path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let port = match port.map(parse_port) {
        Some(None) => return io_failure("--port takes PORT or PORT/PROTOCOL"),
        Some(Some(p)) => Some(p),
        None => None,
    };
    let engine =
        trellis::reach::Engine::new(&compilation.model, compilation.allocation.as_ref(), c);
    let workloads = engine.workloads_by_name(namespace);
    let names: Vec<String> = workloads
        .iter()
        .map(|w| format!("{}/{}", w.namespace.value, w.name.value))
        .collect();
    let rows: Vec<Vec<&'static str>> = workloads
        .iter()
        .map(|s| {
            workloads
                .iter()
                .map(|d| engine.cell(s, d, port).as_str())
                .collect()
        })
        .collect();
    let what = match port {
        Some((p, proto)) => format!("port {p}/{}", proto.as_str()),
        None => "every port the destination declares".to_string(),
    };
    let legend = format!("yes: allowed, no: denied, some: only some ports, -: the destination declares no port ({what})");
    print_matrix(
        format,
        serde_json::json!({"cluster": cluster}),
        &names,
        &rows,
        &legend,
    );
    0
}

/// Prints a matrix: `head` holds the JSON fields before `workloads` and `matrix`
/// (and may hold more after them); `legend` ends the text form.
fn print_matrix(
    format: MatrixFormat,
    head: serde_json::Value,
    names: &[String],
    rows: &[Vec<&'static str>],
    legend: &str,
) {
    match format {
        MatrixFormat::Json => {
            let mut doc = head;
            if let Some(map) = doc.as_object_mut() {
                map.insert("workloads".into(), serde_json::json!(names));
                map.insert("matrix".into(), serde_json::json!(rows));
            }
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        MatrixFormat::Csv => {
            let names: Vec<String> = names.iter().map(|n| csv_field(n)).collect();
            println!("from\\to,{}", names.join(","));
            for (name, row) in names.iter().zip(rows) {
                println!("{name},{}", row.join(","));
            }
        }
        MatrixFormat::Text => {
            let width = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("[{}] {n}", i + 1).chars().count())
                .max()
                .unwrap_or(4)
                .max(9);
            print!("{:width$}", "from \\ to");
            for (i, _) in names.iter().enumerate() {
                print!(" {:>7}", format!("[{}]", i + 1));
            }
            println!();
            for (i, (name, row)) in names.iter().zip(rows).enumerate() {
                print!("{:width$}", format!("[{}] {name}", i + 1));
                for c in row {
                    let mark = match *c {
                        "allow" => "yes",
                        "deny" => "no",
                        "partial" => "some",
                        _ => "-",
                    };
                    print!(" {mark:>7}");
                }
                println!();
            }
            println!("{legend}");
        }
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `path:line:col` of a span of a manifest folder.
fn manifest_place(sources: &Sources, span: trellis::source::Span) -> String {
    match sources.get(span.file) {
        Some(f) => {
            let (line, col) = f.line_col(span.start as usize);
            format!("{}:{line}:{col}", f.path)
        }
        None => "?".to_string(),
    }
}

/// `trellis matrix --manifests DIR`: notes and problems on stderr (problems: exit 1,
/// no matrix), then the matrix of the folder's workloads and external ranges.
fn run_matrix_manifests(
    dir: &Path,
    namespace: Option<&str>,
    port: Option<&str>,
    format: MatrixFormat,
) -> u8 {
    use trellis::manifests::{self, matrix::Party};
    let port = match port.map(parse_port) {
        Some(None) => return io_failure("--port takes PORT or PORT/PROTOCOL"),
        Some(Some(p)) => Some(p),
        None => None,
    };
    let read = match manifests::read_dir(dir) {
        Ok(m) => m,
        Err(e) => return io_failure(e),
    };
    if read.sources.is_empty() {
        return io_failure(format!("{}: no .yaml or .yml files found", dir.display()));
    }
    // Messages quote the input: control characters are shown escaped.
    let printable = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    for note in &read.notes {
        eprintln!(
            "note: {}: {}",
            printable(&manifest_place(&read.sources, note.span)),
            printable(&note.message)
        );
    }
    for problem in &read.problems {
        eprintln!(
            "error: {}: {}",
            printable(&manifest_place(&read.sources, problem.span)),
            printable(&problem.message)
        );
    }
    if !read.problems.is_empty() {
        eprintln!(
            "error: {} problem(s) in the manifests; no matrix",
            read.problems.len()
        );
        return 1;
    }
    let Some(cluster) = read.cluster() else {
        return io_failure("internal: the manifests have no cluster");
    };
    let engine = trellis::reach::Engine::new(&read.model, None, cluster);
    let m = manifests::matrix::matrix(&engine, &read.model, namespace, port);
    let names: Vec<String> = m.parties.iter().map(Party::label).collect();
    let rows: Vec<Vec<&'static str>> = m
        .cells
        .iter()
        .map(|r| r.iter().map(|c| c.as_str()).collect())
        .collect();
    let external: Vec<serde_json::Value> = m
        .parties
        .iter()
        .filter_map(|p| match p {
            Party::External(r) => Some(serde_json::json!({
                "label": r.label,
                "ranges": r.intervals.iter().map(|(a, b)| format!("{a}-{b}")).collect::<Vec<_>>(),
            })),
            Party::Workload(_) => None,
        })
        .collect();
    let what = match port {
        Some((p, proto)) => format!("port {p}/{}", proto.as_str()),
        None => "every port the destination declares; every port to an external range".to_string(),
    };
    let legend =
        format!("yes: allowed, no: denied, some: only some ports, -: no port to check ({what})");
    print_matrix(
        format,
        serde_json::json!({"manifests": dir.to_string_lossy().replace('\\', "/"), "external": external}),
        &names,
        &rows,
        &legend,
    );
    0
}

#[cfg(test)]
mod tests {
    use super::{keep_freed_memory, MI_OPTION_PURGE_DELAY};

    /// The option number is mimalloc's purge delay (10 ms by default), and
    /// `keep_freed_memory` turns purging off (unless the environment sets it).
    #[test]
    fn freed_memory_is_kept() {
        // SAFETY: reads one integer from mimalloc's option table.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        assert_eq!(get(), 10, "option 15 is not mimalloc's purge delay");
        keep_freed_memory();
        assert_eq!(get(), -1);
    }
}
