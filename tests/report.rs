//! `trellis report`: the HTML page of every example is deterministic, snapshotted
//! (quickstart), free of HTML5 parse errors (html5lib, the WHATWG parsing algorithm,
//! in `target/venv`), and rendered by headless Chromium, whose DOM must hold each
//! network's pool bars and each cluster's frontends; a screenshot of each lands in
//! `target/report-screenshots/` for review. Hostile strings (the project's folder
//! name, free text, names quoted by diagnostics) must appear only as text.
//!
//! With `CI=true` a missing Chromium or html5lib fails the test; otherwise the test
//! says loudly that it skipped the check.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trellis::alloc::AllocKey;
use trellis::diag::Diagnostics;
use trellis::model::{NetworkMode, ServiceType};
use trellis::source::Sources;
use trellis::{compile, load, Compilation, Options};

mod common;

use common::{example_dirs, find_tool, ROOT};

/// How long one Chromium run may take before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

/// The folder name of the hostile fixture's copy: markup, quotes, an ampersand and a
/// right-to-left override.
const HOSTILE_DIR: &str = "<script>alert(1)</script>\"q'&\u{202E}evil";

fn compile_dir(dir: &Path) -> (Sources, Compilation) {
    let project = load::load(dir, &[]).expect("load");
    let c = compile(&project.sources, project.diagnostics, &Options::default());
    (project.sources, c)
}

fn page(dir: &Path, title: &str) -> (Compilation, String) {
    let (sources, c) = compile_dir(dir);
    let html = trellis::report::render(&trellis::report::prepare(&c, &sources, title))
        .expect("the report template renders");
    (c, html)
}

fn name_of(dir: &Path) -> String {
    dir.file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned()
}

/// The elements the rendered page must hold for a project: for each network, the
/// bar of each pool; for each cluster, each LoadBalancer and NodePort frontend as
/// the allocation gives it.
fn key_elements(c: &Compilation) -> Vec<String> {
    let alloc = c.allocation.as_ref().expect("allocation");
    let mut wanted = Vec::new();
    for n in &c.model.networks {
        let net = &n.name.value;
        if n.mode.value == NetworkMode::Static && n.node_ips.is_some() {
            wanted.push(format!("id=\"pool-{net}-node\""));
        }
        wanted.push(format!("id=\"pool-{net}-vip\""));
    }
    for s in &c.model.services {
        let (cl, ns, name) = (&s.cluster.value, &s.namespace.value, &s.name.value);
        let vip = match s.kind.value {
            ServiceType::LoadBalancer => alloc
                .address(&AllocKey::Service(cl.clone(), ns.clone(), name.clone()))
                .expect("a LoadBalancer service has a VIP")
                .to_string(),
            ServiceType::NodePort => "nodes".to_string(),
            _ => continue,
        };
        for p in &s.ports {
            wanted.push(format!(
                "data-frontend=\"{vip}:{}/{}\"",
                p.port.value,
                p.protocol.value.as_str()
            ));
        }
    }
    wanted
}

#[test]
fn every_example_report_is_deterministic_and_complete() {
    for dir in example_dirs() {
        let name = name_of(&dir);
        let (sources, c) = compile_dir(&dir);
        common::assert_no_errors(&c, &name);
        let first = trellis::report::render(&trellis::report::prepare(&c, &sources, &name))
            .expect("render");
        let other = common::reversed(&sources);
        let c2 = compile(&other, Diagnostics::new(), &Options::default());
        let second =
            trellis::report::render(&trellis::report::prepare(&c2, &other, &name)).expect("render");
        assert_eq!(first, second, "{name}: file order changes the report");
        for element in key_elements(&c) {
            assert!(first.contains(&element), "{name}: no {element}");
        }
        assert!(!first.contains("<script"), "{name}: the page has a script");
        assert_eq!(
            first.matches("class=\"card network\"").count(),
            c.model.networks.len(),
            "{name}: one section per network"
        );
        if name == "quickstart" {
            insta::with_settings!({
                snapshot_path => format!("{ROOT}/snapshots/report"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!("quickstart.html", first);
            });
        }
    }
}

/// The Python of `target/venv` when it has html5lib; under `CI=true` its absence
/// fails.
fn html5lib_python() -> Option<PathBuf> {
    let found = find_tool("python").filter(|py| {
        Command::new(py)
            .args(["-c", "import html5lib"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "html5lib is not installed; tests/run installs it in target/venv (CI=true forbids skipping)"
        );
        eprintln!("SKIPPED: html5lib is not installed; run tests/run to install it");
    }
    found
}

/// Parses `html` with html5lib and returns its parse errors, one per line.
fn html5_errors(python: &Path, html: &str) -> String {
    const SCRIPT: &str = "\
import sys, html5lib
parser = html5lib.HTMLParser(strict=False)
parser.parse(sys.stdin.buffer.read(), transport_encoding='utf-8')
for pos, code, data in parser.errors:
    print(pos, code, data)
";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("page.html");
    std::fs::write(&file, html).expect("write page");
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(File::open(&file).expect("open page"))
        .output()
        .expect("run html5lib");
    assert!(
        out.status.success(),
        "html5lib failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_example_report_parses_as_html5_without_errors() {
    let Some(python) = html5lib_python() else {
        return;
    };
    for dir in example_dirs() {
        let name = name_of(&dir);
        let (_, html) = page(&dir, &name);
        let errors = html5_errors(&python, &html);
        assert!(errors.is_empty(), "{name}: HTML5 parse errors:\n{errors}");
    }
}

/// Runs headless Chromium on `page` with `args`, killed after `CHROMIUM_TIMEOUT`;
/// returns what it printed.
fn chromium(chromium: &Path, page: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir().expect("profile dir");
    let out_dir = tempfile::tempdir().expect("out dir");
    let stdout_path = out_dir.path().join("stdout");
    let stderr_path = out_dir.path().join("stderr");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("stdout file"))
        .stderr(File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium took longer than {CHROMIUM_TIMEOUT:?} on {}",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{stderr}");
    std::fs::read_to_string(&stdout_path).expect("chromium output")
}

fn require_chromium() -> Option<PathBuf> {
    common::require_tool("chromium")
}

#[test]
fn every_example_report_renders_in_chromium() {
    let Some(browser) = require_chromium() else {
        return;
    };
    let shots = PathBuf::from(format!("{ROOT}/target/report-screenshots"));
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let tmp = tempfile::tempdir().expect("tempdir");
    for dir in example_dirs() {
        let name = name_of(&dir);
        let (c, html) = page(&dir, &format!("examples/{name}"));
        let file = tmp.path().join(format!("{name}.html"));
        std::fs::write(&file, &html).expect("write page");
        let dom = chromium(&browser, &file, &["--dump-dom".to_string()]);
        assert!(dom.contains("<main>"), "{name}: Chromium rendered no page");
        for element in key_elements(&c) {
            assert!(
                dom.contains(&element),
                "{name}: the rendered page has no {element}"
            );
        }
        for n in &c.model.networks {
            let id = format!("id=\"pool-{}-vip\"", n.name.value);
            let at = dom.find(&id).expect("pool");
            let bar = dom.get(at..).and_then(|rest| rest.find("class=\"bar\""));
            assert!(bar.is_some(), "{name}: network {} has no bar", n.name.value);
        }
        assert!(!dom.contains("<script"), "{name}: the page has a script");
        let topology = dom.find("<figure class=\"topology\">").expect("a topology");
        assert!(
            dom.get(topology..)
                .is_some_and(|rest| rest.contains("<svg")),
            "{name}: the topology is not drawn"
        );
        let shot = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        chromium(
            &browser,
            &file,
            &[
                format!("--screenshot={}", shot.display()),
                "--window-size=1280,2000".to_string(),
            ],
        );
        let png = std::fs::read(&shot).expect("screenshot written");
        assert!(
            png.starts_with(b"\x89PNG"),
            "{name}: the screenshot is no PNG"
        );
    }
}

/// Copies the hostile fixture into a folder whose own name is hostile and writes its
/// report with the binary, as a user would.
fn hostile_report(with_errors: bool) -> (tempfile::TempDir, PathBuf, String, i32) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join(HOSTILE_DIR);
    std::fs::create_dir_all(&project).expect("hostile folder");
    let fixture = PathBuf::from(format!("{ROOT}/tests/report/hostile"));
    for file in ["network.kdl", "errors.kdl"] {
        if file == "errors.kdl" && !with_errors {
            continue;
        }
        std::fs::copy(fixture.join(file), project.join(file)).expect("copy fixture");
    }
    let out = tmp.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .arg("report")
        .arg(&project)
        .arg("-o")
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .expect("run trellis report");
    let html = std::fs::read_to_string(&out).expect("the report is written");
    (tmp, out, html, status.code().unwrap_or(-1))
}

#[test]
fn hostile_strings_appear_only_as_text() {
    let python = html5lib_python();
    let browser = require_chromium();
    for with_errors in [false, true] {
        let (_tmp, file, html, code) = hostile_report(with_errors);
        let what = if with_errors { "with errors" } else { "clean" };
        // Exit code as for `check`: 1 when the project has errors, the page written
        // all the same.
        assert_eq!(code, i32::from(with_errors), "{what}: exit code");
        assert!(!html.contains("<script"), "{what}: a raw <script> tag");
        assert!(!html.contains("<img"), "{what}: a raw <img> tag");
        assert!(!html.contains('\u{202E}'), "{what}: a raw bidi control");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;q&#39;&amp;[U+202E]evil"),
            "{what}: the folder name is not shown escaped"
        );
        assert!(
            html.contains(
                "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39; &amp; amp; &lt;/td&gt;&lt;/table&gt;"
            ),
            "{what}: the switch name is not shown escaped"
        );
        if with_errors {
            for quoted in [
                "<code>&lt;script&gt;</code> is not a valid AksHci name",
                "no namespace named <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>",
                "<code>&lt;img src=x onerror=alert(1)&gt;</code> is not a valid image reference",
                "errors.kdl:8:41",
            ] {
                assert!(html.contains(quoted), "{what}: missing `{quoted}`");
            }
            assert!(html.contains("the project has errors"), "{what}: no reason");
        } else {
            assert!(html.contains("data-frontend=\"10.20.2.255:80/TCP\""));
        }
        if let Some(python) = &python {
            let errors = html5_errors(python, &html);
            assert!(errors.is_empty(), "{what}: HTML5 parse errors:\n{errors}");
        }
        if let Some(browser) = &browser {
            let dom = chromium(browser, &file, &["--dump-dom".to_string()]);
            assert!(dom.contains("<main>"), "{what}: Chromium rendered no page");
            // The page has no script at all, so none can have been injected.
            assert!(
                !dom.contains("<script"),
                "{what}: a <script> element in the DOM"
            );
            assert!(!dom.contains("<img"), "{what}: an <img> element in the DOM");
            assert!(
                dom.contains(
                    "&lt;script&gt;alert(1)&lt;/script&gt; \"quoted\" 'single' &amp; amp;"
                ),
                "{what}: the switch name is not text in the DOM"
            );
        }
    }
}

#[test]
fn report_writes_nothing_on_usage_failure() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["report", "/nonexistent/trellis/project", "-o"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .expect("run trellis report");
    assert_eq!(status.code(), Some(2));
    assert!(!out.exists(), "a report for a project that does not exist");
}

/// Every UI case (projects with every kind of error) still gets a page that lists
/// each of its diagnostics, with nothing unescaped.
#[test]
fn every_ui_case_gets_a_report_listing_its_diagnostics() {
    let mut cases = 0;
    let mut stages: Vec<PathBuf> = std::fs::read_dir(format!("{ROOT}/tests/ui"))
        .expect("tests/ui")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    stages.sort();
    for stage in stages {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&stage)
            .expect("stage")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "kdl"))
            .collect();
        entries.sort();
        for case in entries {
            let Ok(project) = load::load(&case, &[]) else {
                continue;
            };
            let c = compile(&project.sources, project.diagnostics, &Options::default());
            let what = case.display().to_string();
            let html =
                trellis::report::render(&trellis::report::prepare(&c, &project.sources, &what))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(!html.contains("<script"), "{what}: a raw <script>");
            assert_eq!(
                html.matches("<tr class=\"diagnostic ").count(),
                c.diagnostics.len(),
                "{what}: not every diagnostic is listed"
            );
            for d in &c.diagnostics {
                assert!(
                    html.contains(&format!("<code>{}</code>", d.code.code)),
                    "{what}"
                );
            }
            if c.has_errors() {
                assert!(
                    html.contains("data-state=\"unavailable\""),
                    "{what}: a plan"
                );
            }
            cases += 1;
        }
    }
    assert!(cases > 100, "only {cases} UI cases found");
}

/// The plan section says what a build would change: nothing, an added service, or,
/// without a lock, how much the first build records.
#[test]
fn the_plan_section_follows_the_lock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("quickstart");
    std::fs::create_dir(&project).expect("project dir");
    for entry in std::fs::read_dir(format!("{ROOT}/examples/quickstart")).expect("example") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, project.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let (_, html) = page(&project, "quickstart");
    assert!(html.contains("data-state=\"up-to-date\""), "{html}");

    std::fs::write(
        project.join("admin.kdl"),
        "service \"admin\" cluster=\"shop\" namespace=\"shop\" {\n    type \"LoadBalancer\"\n    select app=\"web\"\n    port 8080 target=\"http\"\n}\n",
    )
    .expect("add a service");
    let (c, html) = page(&project, "quickstart");
    common::assert_no_errors(&c, "quickstart + admin");
    assert!(html.contains("data-state=\"changes\""), "{html}");
    assert!(
        html.contains("a build would change trellis.lock in 2 places"),
        "{html}"
    );
    assert!(
        html.contains("<td>added</td><th scope=\"row\">service <code>shop/admin</code> of cluster <code>shop</code></th><td>10.20.2.254 on network <code>corp</code></td>"),
        "{html}"
    );

    std::fs::remove_file(project.join("trellis.lock")).expect("remove the lock");
    let (c, html) = page(&project, "quickstart");
    let n = {
        let a = c.allocation.as_ref().expect("allocation");
        a.addresses.len() + a.node_ports.len()
    };
    assert!(html.contains("data-state=\"no-lock\""), "{html}");
    assert!(
        html.contains(&format!("the first build records all {n} allocations")),
        "{html}"
    );
}

/// The bars agree with the capacity check: on every example, what the allocation
/// uses and reserves is exactly what the declarations need, and the reserve is 5
/// per cluster plus 2 for the AKS host on the network.
#[test]
fn pool_figures_agree_with_the_capacity_check() {
    use trellis::check::addresses::{HOST_UPGRADE_RESERVE, UPGRADE_RESERVE};
    for dir in example_dirs() {
        let name = name_of(&dir);
        let (sources, c) = compile_dir(&dir);
        let report = trellis::report::prepare(&c, &sources, &name);
        for n in &report.networks {
            for p in &n.pools {
                let u = p.usage.as_ref().expect("allocated");
                assert_eq!(
                    u.used + u.reserved,
                    p.needed,
                    "{name}: {} {}",
                    n.name,
                    p.kind
                );
                assert_eq!(u.used + u.reserved + u.free, p.size, "{name}: {}", n.name);
                let clusters = c
                    .model
                    .clusters
                    .iter()
                    .filter(|cl| cl.network.value == n.name)
                    .count() as u64;
                let host = c.model.hosts.iter().any(|h| h.network.value == n.name);
                let reserve = match p.kind {
                    "node" => clusters * UPGRADE_RESERVE + u64::from(host) * HOST_UPGRADE_RESERVE,
                    _ => 0,
                };
                assert_eq!(u.reserved, reserve, "{name}: {} {}", n.name, p.kind);
            }
        }
    }
}

/// A cluster with more workloads than the report draws gets no matrix and the
/// project no topology; the page says why. One fewer and both are there.
#[test]
fn large_clusters_get_no_matrix_and_no_drawing() {
    let project = |workloads: usize| {
        let mut text = String::from(
            "network \"corp\" {\n    switch \"External\"\n    prefix (cidr)\"10.20.0.0/16\"\n    gateway \"10.20.0.1\"\n    dns \"10.20.0.10\"\n    node-ips \"10.20.1.0\" \"10.20.1.255\"\n    vips \"10.20.2.0\" \"10.20.2.255\"\n}\nhost {\n    network \"corp\"\n}\ncluster \"big\" {\n    network \"corp\"\n    control-plane count=1\n    node-pool \"linux\" count=3\n}\nnamespace \"apps\" cluster=\"big\"\n",
        );
        for i in 0..workloads {
            text.push_str(&format!(
                "workload \"w{i}\" cluster=\"big\" namespace=\"apps\" {{\n    image \"nginx:1.27\"\n    port \"http\" 8080\n}}\n"
            ));
        }
        text
    };
    let limit = trellis::report::MATRIX_LIMIT;
    for (n, drawn) in [(limit, true), (limit + 1, false)] {
        let (sources, c) = trellis::compile_str("big.kdl", &project(n));
        common::assert_no_errors(&c, "big");
        let report = trellis::report::prepare(&c, &sources, "big");
        let cluster = report.clusters.first().expect("cluster");
        assert_eq!(cluster.matrix.is_some(), drawn, "{n} workloads");
        assert_eq!(report.topology.is_some(), drawn, "{n} workloads");
        let html = trellis::report::render(&report).expect("render");
        assert_eq!(
            html.contains(&format!(
                "{n} workloads: more than the report draws ({limit})"
            )),
            !drawn,
            "{n} workloads"
        );
    }
}

/// `--deny-warnings` works as for `check`: shared-network has a warning, so its
/// report exits 1 and shows nothing allocated; without the flag it exits 0.
#[test]
fn deny_warnings_turns_the_warning_into_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = format!("{ROOT}/examples/shared-network");
    for (flag, code, allocated) in [(false, 0, true), (true, 1, false)] {
        let out = tmp.path().join("report.html");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trellis"));
        cmd.args(["report", &project, "-o"]).arg(&out);
        if flag {
            cmd.arg("--deny-warnings");
        }
        let status = cmd.stderr(Stdio::null()).status().expect("run trellis");
        assert_eq!(status.code(), Some(code), "--deny-warnings {flag}");
        let html = std::fs::read_to_string(&out).expect("written");
        assert_eq!(
            html.contains("class=\"bar\""),
            allocated,
            "--deny-warnings {flag}"
        );
        assert_eq!(
            html.contains("data-state=\"unavailable\""),
            !allocated,
            "--deny-warnings {flag}"
        );
        assert!(
            html.contains("<tr class=\"diagnostic "),
            "the warning is listed"
        );
    }
}
