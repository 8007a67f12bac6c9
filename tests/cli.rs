//! The `trellis` binary end to end: exit codes, text and JSON rendering, `build`,
//! `explain`, and the README's example staying true.

use std::path::Path;
use std::process::{Command, Output};

fn trellis(args: &[&str], dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trellis"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.output().expect("run trellis")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8 output")
}

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn quickstart_checks_clean() {
    let out = trellis(&["check", &format!("{ROOT}/examples/quickstart")], None);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn every_example_has_an_up_to_date_lock() {
    for entry in std::fs::read_dir(format!("{ROOT}/examples")).expect("examples") {
        let path = entry.expect("entry").path();
        assert!(
            path.join("trellis.lock").is_file(),
            "{}: no trellis.lock",
            path.display()
        );
        let out = trellis(&["plan", path.to_str().expect("path")], None);
        assert_eq!(code(&out), 0, "{}: {}", path.display(), text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "no changes: trellis.lock is up to date\n",
            "{}: run `trellis build` on it and commit the lock",
            path.display()
        );
    }
}

#[test]
fn every_example_checks_without_errors() {
    for entry in std::fs::read_dir(format!("{ROOT}/examples")).expect("examples") {
        let path = entry.expect("entry").path();
        let out = trellis(&["check", path.to_str().expect("path")], None);
        assert_eq!(code(&out), 0, "{}: {}", path.display(), text(&out.stderr));
    }
}

/// Copies an example's `.kdl` files (not its lock) into `dir`.
fn copy_sources(example: &str, dir: &Path) {
    for entry in std::fs::read_dir(format!("{ROOT}/examples/{example}")).expect("example") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "kdl") {
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
    }
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).expect("write");
}

const BROKEN: &str =
    "network \"corp\" {\n    swich \"External\"\n    vips \"10.20.2.0\" \"10.20.2.255\"\n}\n";

#[test]
fn an_error_exits_1_with_code_span_and_help() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "net.kdl", BROKEN);
    let out = trellis(&["check", "net.kdl"], Some(dir.path()));
    assert_eq!(code(&out), 1);
    let err = text(&out.stderr);
    assert!(err.contains("TR0201"), "{err}");
    assert!(
        err.contains("unknown node `swich` inside `network`"),
        "{err}"
    );
    assert!(err.contains("─┬─"), "span underlined: {err}");
    assert!(err.contains("help: did you mean `switch`?"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "NO_COLOR output has no escape codes: {err}"
    );
    assert!(err.ends_with("1 error\n"), "{err}");
}

#[test]
fn json_output_parses_and_has_the_documented_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "net.kdl", BROKEN);
    let out = trellis(&["check", ".", "--format", "json"], Some(dir.path()));
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["version"], 1);
    assert_eq!(json["errors"], 1);
    assert_eq!(json["warnings"], 0);
    let diags = json["diagnostics"].as_array().expect("array");
    // The misspelt `swich` is reported once, as unknown (not again as a missing
    // `switch`).
    assert_eq!(diags.len(), 1);
    let second = &diags[0];
    assert_eq!(second["code"], "TR0201");
    assert_eq!(second["name"], "unknown-node");
    assert_eq!(second["severity"], "error");
    assert_eq!(second["file"], "net.kdl");
    assert_eq!(second["line"], 2);
    assert_eq!(second["column"], 5);
    assert_eq!(second["end_line"], 2);
    assert_eq!(second["end_column"], 10);
    assert_eq!(second["span"]["start"], 21);
    assert_eq!(second["span"]["end"], 26);
    assert_eq!(second["help"], "did you mean `switch`?");
    assert!(second["related"].as_array().expect("related").is_empty());
}

#[test]
fn json_related_spans_point_into_other_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a.kdl", "namespace \"shop\" cluster=\"shop\"\n");
    write(dir.path(), "b.kdl", "namespace \"shop\" cluster=\"shop\"\n");
    write(
        dir.path(),
        "c.kdl",
        "network \"corp\" { switch \"External\"; mode \"dhcp\"; vips \"10.0.0.1\" \"10.0.0.9\" }\ncluster \"shop\" { network \"corp\"; node-pool \"linux\" }\n",
    );
    let out = trellis(&["check", ".", "--format", "json"], Some(dir.path()));
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let diag = &json["diagnostics"][0];
    assert_eq!(diag["code"], "TR0301");
    assert_eq!(diag["file"], "b.kdl");
    assert_eq!(diag["related"][0]["file"], "a.kdl");
    assert_eq!(diag["related"][0]["message"], "first declared here");
    // The text rendering shows the other file too.
    let out = trellis(&["check", "."], Some(dir.path()));
    let err = text(&out.stderr);
    assert!(err.contains("a.kdl:1:11"), "{err}");
    assert!(err.contains("first declared here"), "{err}");
}

/// A clean project but for one warning (TR0701, a retired plugin).
const RETIRED_PLUGIN: &str = "network \"corp\" { switch \"External\"; mode \"dhcp\"; vips \"10.0.0.1\" \"10.0.0.9\" }\ncluster \"old\" { network \"corp\"; plugin \"flannel\"; control-plane { addresses \"10.0.1.1\"; }; node-pool \"linux\" { addresses \"10.0.1.2\"; } }\n";

#[test]
fn warnings_pass_unless_denied() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "p.kdl", RETIRED_PLUGIN);
    let out = trellis(&["check", "."], Some(dir.path()));
    assert_eq!(code(&out), 0);
    assert!(text(&out.stderr).contains("TR0701"));
    assert!(text(&out.stderr).ends_with("1 warning\n"));
    let out = trellis(&["check", ".", "--deny-warnings"], Some(dir.path()));
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).ends_with("1 error\n"));
}

#[test]
fn usage_and_io_failures_exit_2() {
    let out = trellis(&["check", "/nonexistent/trellis-project"], None);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("no such file or folder"));
    let empty = tempfile::tempdir().expect("tempdir");
    let out = trellis(&["check", empty.path().to_str().expect("path")], None);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("no .kdl files found"));
    let out = trellis(&["check"], None);
    assert_eq!(code(&out), 2);
    let out = trellis(&["frobnicate"], None);
    assert_eq!(code(&out), 2);
    let out = trellis(&["explain", "TR9999"], None);
    assert_eq!(code(&out), 2);
}

#[test]
fn help_shows_examples() {
    let out = trellis(&["--help"], None);
    assert_eq!(code(&out), 0);
    let help = text(&out.stdout);
    for cmd in ["check", "build", "plan", "fmt", "explain"] {
        assert!(help.contains(cmd), "{help}");
    }
    assert!(help.contains("trellis check examples/quickstart"), "{help}");
}

#[test]
fn build_writes_the_lock_and_plan_shows_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sources("quickstart", dir.path());
    // Before any build, plan lists every allocation as new.
    let out = trellis(&["plan", "."], Some(dir.path()));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(plan.contains("+ 10.20.2.255 on network `corp`"), "{plan}");
    assert!(
        !dir.path().join("trellis.lock").exists(),
        "plan writes nothing"
    );

    let out = trellis(&["build", ".", "-o", "out"], Some(dir.path()));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(
        summary.starts_with(
            "allocated: 17 new, 0 kept from trellis.lock, 0 pinned (trellis.lock written)"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("10.20.2.255     service `shop/web` of cluster `shop`"),
        "{summary}"
    );
    assert!(
        summary.contains(":30000          port 80/TCP of service `shop/web` of cluster `shop`"),
        "{summary}"
    );
    let lock = std::fs::read_to_string(dir.path().join("trellis.lock")).expect("lock written");
    assert!(
        lock.contains("address \"10.20.2.255\" network=\"corp\" for=\"service/shop/shop/web\""),
        "{lock}"
    );
    assert!(
        lock.contains("cluster \"shop\" plugin=\"calico\""),
        "{lock}"
    );

    // A second build keeps everything and leaves the lock as it is.
    let out = trellis(&["build", "."], Some(dir.path()));
    assert_eq!(code(&out), 0);
    assert!(text(&out.stdout).starts_with(
        "allocated: 0 new, 17 kept from trellis.lock, 0 pinned (trellis.lock unchanged)"
    ));
    let out = trellis(&["plan", "."], Some(dir.path()));
    assert_eq!(
        text(&out.stdout),
        "no changes: trellis.lock is up to date\n"
    );

    // A new service: plan shows one address and one node port; nothing else moves.
    write(
        dir.path(),
        "admin.kdl",
        "service \"admin\" cluster=\"shop\" namespace=\"shop\" { type \"LoadBalancer\"; select app=\"web\"; port 8443 target=\"http\" }\n",
    );
    let out = trellis(&["plan", "."], Some(dir.path()));
    let plan = text(&out.stdout);
    assert!(
        plan.starts_with("a build would change trellis.lock in 2 places:"),
        "{plan}"
    );
    assert!(plan.contains("+ 10.20.2.254 on network `corp`"), "{plan}");
    assert!(plan.contains("+ node port 30001"), "{plan}");

    // A failed build leaves the lock untouched.
    write(dir.path(), "broken.kdl", BROKEN);
    let out = trellis(&["build", "."], Some(dir.path()));
    assert_eq!(code(&out), 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("trellis.lock")).expect("lock"),
        lock
    );
}

#[test]
fn changing_a_deployed_clusters_plugin_is_refused_unless_recreated() {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(format!("{ROOT}/examples/quickstart")).expect("example") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    assert_eq!(code(&trellis(&["build", "."], Some(dir.path()))), 0);
    let network = dir.path().join("network.kdl");
    let source = std::fs::read_to_string(&network).expect("read");
    std::fs::write(
        &network,
        source.replace("plugin \"calico\"", "plugin \"flannel\""),
    )
    .expect("write");
    let out = trellis(&["check", "."], Some(dir.path()));
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("TR0707"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(
        &network,
        source.replace(
            "plugin \"calico\"",
            "plugin \"flannel\"\n    recreate #true",
        ),
    )
    .expect("write");
    let out = trellis(&["plan", "."], Some(dir.path()));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("! cluster `shop` plugin calico -> flannel"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn hidden_folders_and_the_output_folder_are_not_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "ok.kdl",
        "network \"corp\" { switch \"External\"; mode \"dhcp\"; vips \"10.0.0.1\" \"10.0.0.9\" }\n",
    );
    for sub in [".git", "out", "target"] {
        std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        write(&dir.path().join(sub), "junk.kdl", "this is { not valid");
    }
    write(dir.path(), "notes.txt", "not a kdl file {");
    // `out` is a previous build's output (it has the marker), so it may be replaced.
    write(&dir.path().join("out"), ".trellis-output", "");
    let out = trellis(&["build", "."], Some(dir.path()));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(dir.path().join("trellis.lock").exists());
    assert!(
        !dir.path().join("out/junk.kdl").exists(),
        "the old output was replaced"
    );
    assert!(dir.path().join("out/.trellis-output").exists());
}

#[test]
fn build_refuses_to_replace_a_folder_it_did_not_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sources("quickstart", dir.path());
    std::fs::create_dir(dir.path().join("docs")).expect("mkdir");
    write(&dir.path().join("docs"), "notes.md", "precious");
    let out = trellis(&["build", ".", "-o", "docs"], Some(dir.path()));
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("refusing to replace a folder trellis did not write"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("docs/notes.md")).expect("kept"),
        "precious"
    );
    assert!(
        !dir.path().join("trellis.lock").exists(),
        "nothing recorded for a failed build"
    );
    no_temporary_folder(dir.path(), "docs");
}

/// Asserts that no temporary output folder of `out` is left in `dir`.
fn no_temporary_folder(dir: &Path, out: &str) {
    assert!(
        !dir.join(format!(".{out}.trellis-new")).exists(),
        "no temporary folder left behind"
    );
}

/// `build` writes the files into a temporary folder as they are made; a build that
/// ends with errors (here warnings, denied, found after the files were made)
/// removes it and leaves the previous output and the lock as they were.
#[test]
fn a_build_failing_after_emitting_leaves_the_previous_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "p.kdl", RETIRED_PLUGIN);
    let out = trellis(&["build", "."], Some(dir.path()));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let mut before = walk_files(&dir.path().join("out"));
    before.sort();
    assert!(!before.is_empty());
    let contents = |files: &[std::path::PathBuf]| -> Vec<Vec<u8>> {
        files
            .iter()
            .map(|f| std::fs::read(dir.path().join("out").join(f)).expect("read"))
            .collect()
    };
    let (old_contents, lock) = (
        contents(&before),
        std::fs::read(dir.path().join("trellis.lock")).expect("lock"),
    );
    // A second service would be allocated and written, but the build fails.
    write(
        dir.path(),
        "q.kdl",
        "namespace \"shop\" cluster=\"old\"\nservice \"web\" cluster=\"old\" namespace=\"shop\" { type \"LoadBalancer\"; port 80 }\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
        .args(["build", ".", "--deny-warnings"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("TRELLIS_TIMINGS", "1")
        .output()
        .expect("run trellis");
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    // The files were made and written before the warning was denied.
    assert!(
        text(&out.stderr).contains("trellis: write outputs"),
        "{}",
        text(&out.stderr)
    );
    let mut after = walk_files(&dir.path().join("out"));
    after.sort();
    assert_eq!(before, after);
    assert_eq!(old_contents, contents(&after));
    assert_eq!(
        lock,
        std::fs::read(dir.path().join("trellis.lock")).expect("lock")
    );
    no_temporary_folder(dir.path(), "out");
}

#[test]
fn build_writes_the_manifests() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sources("quickstart", dir.path());
    let out = trellis(&["build", "."], Some(dir.path()));
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("wrote 7 files to ./out"),
        "{}",
        text(&out.stdout)
    );
    let service =
        std::fs::read_to_string(dir.path().join("out/shop/kubernetes/shop/service-web.yaml"))
            .expect("service");
    assert!(
        service.contains("externalIPs:\n  - \"10.20.2.255\""),
        "{service}"
    );
    assert!(service.contains("nodePort: 30000"), "{service}");
}

/// The README's ten-line example is valid, and the diagnostic it shows is what
/// trellis prints for the same project with `corp` misspelt.
#[test]
fn readme_example_is_true() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("README");
    let start = readme.find("```kdl\n").expect("kdl block") + 7;
    let source = &readme[start..start + readme[start..].find("```").expect("end")];
    let (_, compilation) = trellis::compile_str("network.kdl", source);
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let broken = source.replacen(
        "{ network \"corp\"; control",
        "{ network \"crop\"; control",
        1,
    );
    assert_ne!(broken, source);
    write(dir.path(), "network.kdl", &broken);
    let out = trellis(&["check", "."], Some(dir.path()));
    let shown_start = readme.find("```text\nTR0302").expect("text block") + 8;
    let shown = &readme[shown_start..shown_start + readme[shown_start..].find("```").expect("end")];
    assert_eq!(text(&out.stderr), shown);
}

#[test]
fn output_does_not_depend_on_the_thread_count() {
    let mut outputs = Vec::new();
    for threads in ["1", "2", "7"] {
        let dir = tempfile::tempdir().expect("tempdir");
        for example in ["multi-tier", "mixed-os", "shared-network"] {
            let sub = dir.path().join(example);
            std::fs::create_dir(&sub).expect("mkdir");
            copy_sources(example, &sub);
        }
        // One project of several files: the three examples' files side by side
        // would clash, so build each and collect everything.
        let mut all = String::new();
        let builds = ["multi-tier", "mixed-os", "shared-network"]
            .into_iter()
            .flat_map(|e| [(e, "files"), (e, "bundle")]);
        for (example, layout) in builds {
            let folder = format!("{example}/out-{layout}");
            let out = Command::new(env!("CARGO_BIN_EXE_trellis"))
                .args(["build", example, "--format", "json", "--layout", layout])
                .args(["-o", &folder])
                .env("TRELLIS_THREADS", threads)
                .current_dir(dir.path())
                .output()
                .expect("build");
            assert_eq!(code(&out), 0, "{}", text(&out.stderr));
            all.push_str(&text(&out.stdout));
            let mut files: Vec<_> = walk_files(&dir.path().join(&folder));
            files.sort();
            for f in files {
                all.push_str(
                    &f.display()
                        .to_string()
                        .replace(&dir.path().display().to_string(), ""),
                );
                all.push_str(&std::fs::read_to_string(&f).expect("read"));
            }
        }
        outputs.push(all);
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "output differs between thread counts"
    );
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("list") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn reach_and_matrix_answer_from_the_command_line() {
    let project = format!("{ROOT}/examples/multi-tier");
    let out = trellis(
        &[
            "reach",
            &project,
            "--cluster",
            "retail",
            "--from",
            "store/web",
            "--to",
            "store/db",
            "--port",
            "5432/TCP",
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let answer = text(&out.stdout);
    assert!(
        answer.starts_with("store/web → store/db on 5432/TCP: denied"),
        "{answer}"
    );
    assert!(
        answer.contains("egress of store/web: isolated by `default-deny`"),
        "{answer}"
    );
    let out = trellis(
        &[
            "reach",
            &project,
            "--cluster",
            "retail",
            "--from",
            "store/api",
            "--to",
            "store/db",
            "--port",
            "5432",
            "--format",
            "json",
        ],
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["allowed"], true);
    assert_eq!(json["ingress"]["policies"][0], "db-from-api");
    assert_eq!(json["ingress"]["at"]["file"], "policies.kdl");
    let out = trellis(
        &[
            "matrix",
            &project,
            "--cluster",
            "retail",
            "--port",
            "5432",
            "--format",
            "csv",
        ],
        None,
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert!(
        csv.starts_with("from\\to,ingress-nginx/controller,store/api,store/db,store/web\n"),
        "{csv}"
    );
    assert!(csv.contains("\nstore/api,deny,deny,allow,deny\n"), "{csv}");
    // Bad questions are usage errors.
    let out = trellis(
        &[
            "reach",
            &project,
            "--cluster",
            "nope",
            "--from",
            "a/b",
            "--to",
            "c/d",
            "--port",
            "1",
        ],
        None,
    );
    assert_eq!(code(&out), 2);
    let out = trellis(
        &[
            "reach",
            &project,
            "--cluster",
            "retail",
            "--from",
            "store/web",
            "--to",
            "store/db",
            "--port",
            "x",
        ],
        None,
    );
    assert_eq!(code(&out), 2);
}

#[test]
fn graph_prints_dot_and_refuses_an_unknown_cluster() {
    let project = format!("{ROOT}/examples/multi-tier");
    let out = trellis(&["graph", &project, "--cluster", "retail"], None);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let dot = text(&out.stdout);
    assert!(dot.starts_with("digraph trellis {\n"), "{dot}");
    assert!(
        dot.contains("\"workload/retail/store/api\" -> \"workload/retail/store/db\""),
        "{dot}"
    );
    // web may not reach db: no edge.
    assert!(
        !dot.contains("\"workload/retail/store/web\" -> \"workload/retail/store/db\""),
        "{dot}"
    );
    let out = trellis(&["graph", &project, "--cluster", "nope"], None);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("no cluster `nope`"),
        "{}",
        text(&out.stderr)
    );
    let out = trellis(&["graph", &project, "--format", "svg"], None);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let out = trellis(&["graph", &project, "--format", "png"], None);
    assert_eq!(code(&out), 2, "png is not a graph format");
}

/// The queries (`reach`, `matrix`, `graph`) and `report` see the loader's problems
/// too: a file that is not UTF-8 is an error, not a silently missing file.
#[test]
fn queries_report_unreadable_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sources("quickstart", dir.path());
    std::fs::write(dir.path().join("broken.kdl"), b"network \"x\xff\" {}\n").expect("write");
    let path = dir.path().to_str().expect("path");
    for args in [
        vec!["check", path],
        vec!["matrix", path, "--cluster", "shop"],
        vec!["graph", path],
        vec![
            "reach",
            path,
            "--cluster",
            "shop",
            "--from",
            "shop/web",
            "--to",
            "shop/web",
            "--port",
            "8080",
        ],
    ] {
        let out = trellis(&args, None);
        assert_eq!(code(&out), 1, "{args:?}: {}", text(&out.stdout));
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(all.contains("TR0102"), "{args:?}: {all}");
    }
}

#[test]
fn timings_go_to_standard_error_only_when_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_sources("multi-tier", dir.path());
    let build = |timings: &str, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_trellis"))
            .args(["build", ".", "--format", "json", "-o", out])
            .env("TRELLIS_TIMINGS", timings)
            .current_dir(dir.path())
            .output()
            .expect("build")
    };
    let quiet = build("", "out-quiet");
    let timed = build("1", "out-timed");
    assert_eq!(code(&quiet), 0, "{}", text(&quiet.stderr));
    assert_eq!(code(&timed), 0, "{}", text(&timed.stderr));
    assert_eq!(text(&quiet.stderr), "");
    let stderr = text(&timed.stderr);
    for stage in [
        "load",
        "parse+lower",
        "lock read",
        "check",
        "allocate",
        "emit kubernetes",
        "emit haproxy",
        "compile",
        "write outputs",
        "swap outputs",
        "lock render",
    ] {
        let line = stderr
            .lines()
            .find(|l| {
                l.strip_prefix("trellis: ")
                    .is_some_and(|r| r.starts_with(stage))
            })
            .unwrap_or_else(|| panic!("no timing for {stage}:\n{stderr}"));
        // `<stage> <ms> ms <MB> MB resident`: the time, and the memory when the
        // stage ended (`?` where `/proc` is missing).
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [.., ms, "ms", mb, "MB", "resident"] = fields[..] else {
            panic!("{line}");
        };
        assert!(ms.parse::<f64>().is_ok(), "{line}");
        assert!(mb == "?" || mb.parse::<u64>().is_ok(), "{line}");
    }
    // Standard output and the files are the same with timings on.
    assert_eq!(
        text(&quiet.stdout).replace("out-quiet", "OUT"),
        text(&timed.stdout).replace("out-timed", "OUT")
    );
    let (mut a, mut b) = (
        walk_files(&dir.path().join("out-quiet")),
        walk_files(&dir.path().join("out-timed")),
    );
    a.sort();
    b.sort();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            std::fs::read(x).expect("read"),
            std::fs::read(y).expect("read")
        );
    }
}
