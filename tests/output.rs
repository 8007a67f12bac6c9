//! The output folder is written all or nothing: a failed build leaves the previous
//! output untouched, stale files disappear, a folder trellis did not write is never
//! replaced, and a build interrupted between its two renames is recovered.

use std::path::Path;

use trellis::emit::Artifact;
use trellis::output::{write_output, MARKER};

fn artifact(path: &str, content: &str) -> Artifact {
    Artifact {
        path: path.to_string(),
        content: content.to_string().into(),
    }
}

fn read(dir: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(rel)).ok()
}

#[test]
fn replaces_the_previous_output_and_removes_stale_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    write_output(
        &out,
        &[artifact("a/one.yaml", "1"), artifact("a/two.yaml", "2")],
    )
    .expect("first");
    assert_eq!(read(&out, "a/one.yaml").as_deref(), Some("1"));
    assert!(out.join(MARKER).is_file());
    write_output(&out, &[artifact("a/one.yaml", "1b")]).expect("second");
    assert_eq!(read(&out, "a/one.yaml").as_deref(), Some("1b"));
    assert_eq!(read(&out, "a/two.yaml"), None, "stale file removed");
    // No temporary folders are left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "out")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_file_of_many_parts_is_written_whole_and_in_order() {
    use std::borrow::Cow;
    use trellis::emit::Content;
    // More than the write buffer holds, in parts of uneven sizes, some empty.
    let parts: Vec<Cow<'static, str>> = (0..20_000)
        .map(|i| match i % 4 {
            0 => Cow::Borrowed("---\n"),
            1 => Cow::Owned(String::new()),
            2 => Cow::Owned(format!("doc: {i}\n")),
            _ => Cow::Owned("x".repeat(i % 97)),
        })
        .collect();
    let whole: String = parts.concat();
    let content = Content::from_parts(parts);
    assert_eq!(content.as_str(), whole);
    assert_eq!(content.clone().into_string(), whole);
    assert_eq!(content, Content::from(whole.clone()));
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let stream = Artifact {
        path: "c/kubernetes/manifests.yaml".into(),
        content,
    };
    write_output(&out, &[stream, artifact("c/one.yaml", "1")]).expect("write");
    assert_eq!(read(&out, "c/kubernetes/manifests.yaml"), Some(whole));
    assert_eq!(read(&out, "c/one.yaml").as_deref(), Some("1"));
}

#[test]
fn a_failed_write_leaves_the_previous_output_untouched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    write_output(&out, &[artifact("keep.yaml", "old")]).expect("first");
    // A path that escapes the folder is refused before anything is swapped.
    let err = write_output(
        &out,
        &[artifact("fine.yaml", "x"), artifact("../escape.yaml", "x")],
    );
    assert!(err.is_err());
    assert_eq!(read(&out, "keep.yaml").as_deref(), Some("old"));
    assert_eq!(read(&out, "fine.yaml"), None);
    assert!(!tmp.path().join("escape.yaml").exists());
    for bad in ["/abs.yaml", "", "a/../../b.yaml"] {
        assert!(
            write_output(&out, &[artifact(bad, "x")]).is_err(),
            "{bad:?}"
        );
        assert_eq!(read(&out, "keep.yaml").as_deref(), Some("old"));
    }
}

#[test]
fn never_replaces_a_folder_trellis_did_not_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("precious");
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    let err = write_output(&out, &[artifact("a.yaml", "x")]).expect_err("must refuse");
    assert!(err.to_string().contains("did not write"), "{err}");
    assert_eq!(read(&out, "notes.txt").as_deref(), Some("mine"));
    // An empty folder is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    write_output(&empty, &[artifact("a.yaml", "x")]).expect("empty folder is fine");
}

#[test]
fn an_interrupted_swap_is_recovered_by_the_next_build() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    write_output(&out, &[artifact("a.yaml", "old")]).expect("first");
    // Simulate a build killed between its two renames: the old output was moved
    // aside and the new one never arrived.
    std::fs::rename(&out, tmp.path().join(".out.trellis-old")).expect("rename");
    std::fs::create_dir(tmp.path().join(".out.trellis-new")).expect("half-written new");
    write_output(&out, &[artifact("b.yaml", "new")]).expect("next build");
    assert_eq!(read(&out, "b.yaml").as_deref(), Some("new"));
    assert!(!tmp.path().join(".out.trellis-old").exists());
    assert!(!tmp.path().join(".out.trellis-new").exists());
}

#[test]
fn a_build_killed_midway_leaves_the_previous_output_intact() {
    // Run the real binary on a large generated project and kill it while it works;
    // whatever moment it dies, `out` is either the previous output or the new one,
    // complete.
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path();
    let mut text = String::from(
        "network \"corp\" { switch \"External\"; mode \"dhcp\"; vips \"10.20.0.1\" \"10.20.63.254\"; }\ncluster \"shop\" { network \"corp\"; node-pool \"linux\" count=3; }\nnamespace \"apps\" cluster=\"shop\"\n",
    );
    for i in 0..2000 {
        text.push_str(&format!(
            "workload \"w{i}\" cluster=\"shop\" namespace=\"apps\" {{ image \"nginx:1.27\"; port \"http\" 8080; }}\nservice \"s{i}\" cluster=\"shop\" namespace=\"apps\" {{ select app=\"w{i}\"; port 80 target=\"http\"; }}\n"
        ));
    }
    std::fs::write(project.join("p.kdl"), &text).expect("write project");
    let bin = env!("CARGO_BIN_EXE_trellis");
    let status = std::process::Command::new(bin)
        .args(["build", "."])
        .current_dir(project)
        .output()
        .expect("first build");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let count = |dir: &Path| walk(dir).len();
    let complete = count(&project.join("out"));
    assert!(complete > 4000);
    for delay_ms in [1u64, 5, 20, 60, 150] {
        let mut child = std::process::Command::new(bin)
            .args(["build", "."])
            .current_dir(project)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // The next build recovers whatever state the kill left.
        let out = project.join("out");
        if out.exists() {
            assert_eq!(
                count(&out),
                complete,
                "partial output after a kill at {delay_ms} ms"
            );
        } else {
            assert!(
                project.join(".out.trellis-old").is_dir(),
                "output lost after a kill at {delay_ms} ms"
            );
        }
    }
    let status = std::process::Command::new(bin)
        .args(["build", "."])
        .current_dir(project)
        .output()
        .expect("final build");
    assert!(status.status.success());
    assert_eq!(count(&project.join("out")), complete);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
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

/// A large file whose bytes are unchanged is kept from the previous output (the same
/// file, linked, so its time stamps stay); one byte changed, a small file, a
/// previous file or folder that is a link, or a previous file with another name
/// elsewhere, and the file is written afresh.
#[cfg(unix)]
#[test]
fn unchanged_large_files_are_kept_and_everything_else_is_written() {
    use std::os::unix::fs::MetadataExt;
    use trellis::output::KEEP_FROM;
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let inode = |rel: &str| std::fs::metadata(out.join(rel)).expect("metadata").ino();
    // Large contents of the same length, differing in their last byte, and made of
    // parts that cut the comparison's blocks at other places.
    let big = |last: char| -> Artifact {
        let mut parts: Vec<std::borrow::Cow<'static, str>> = (0..KEEP_FROM / 1000 + 3)
            .map(|i| std::borrow::Cow::Owned(format!("{i:0>999}\n")))
            .collect();
        parts.push(std::borrow::Cow::Owned(last.to_string()));
        Artifact {
            path: "c/kubernetes/manifests.yaml".to_string(),
            content: trellis::emit::Content::from_parts(parts),
        }
    };
    let text = |a: &Artifact| a.content.to_string();
    let first = [
        big('a'),
        artifact("small.yaml", "x"),
        artifact("c/big2.yaml", &"y".repeat(KEEP_FROM)),
    ];
    write_output(&out, &first).expect("first");
    let (big_ino, small_ino, big2_ino) = (
        inode("c/kubernetes/manifests.yaml"),
        inode("small.yaml"),
        inode("c/big2.yaml"),
    );
    // Unchanged: the large files are kept, the small one written again.
    write_output(&out, &first).expect("second");
    assert_eq!(inode("c/kubernetes/manifests.yaml"), big_ino);
    assert_eq!(inode("c/big2.yaml"), big2_ino);
    assert_ne!(inode("small.yaml"), small_ino);
    assert_eq!(
        read(&out, "c/kubernetes/manifests.yaml"),
        Some(text(&big('a')))
    );
    // The last byte changed: written afresh, with the new bytes.
    write_output(&out, &[big('b')]).expect("third");
    assert_ne!(inode("c/kubernetes/manifests.yaml"), big_ino);
    assert_eq!(
        read(&out, "c/kubernetes/manifests.yaml"),
        Some(text(&big('b')))
    );
    // A previous file that is a link to a file outside, with the same bytes: never
    // linked into the output.
    let outside = tmp.path().join("outside.yaml");
    std::fs::write(&outside, text(&big('b'))).expect("outside");
    let target = out.join("c/kubernetes/manifests.yaml");
    std::fs::remove_file(&target).expect("remove");
    std::os::unix::fs::symlink(&outside, &target).expect("symlink");
    write_output(&out, &[big('b')]).expect("fourth");
    let meta = std::fs::symlink_metadata(&target).expect("metadata");
    assert!(meta.file_type().is_file());
    assert_ne!(
        meta.ino(),
        std::fs::metadata(&outside).expect("outside").ino()
    );
    // A previous folder that is a link to a folder outside: its files are not kept.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::rename(out.join("c"), &elsewhere).expect("move");
    std::os::unix::fs::symlink(&elsewhere, out.join("c")).expect("symlink");
    let outside_ino = std::fs::metadata(elsewhere.join("kubernetes/manifests.yaml"))
        .expect("outside")
        .ino();
    write_output(&out, &[big('b')]).expect("fifth");
    assert!(std::fs::symlink_metadata(out.join("c"))
        .expect("c")
        .is_dir());
    assert_ne!(inode("c/kubernetes/manifests.yaml"), outside_ino);
    assert_eq!(
        read(&out, "c/kubernetes/manifests.yaml"),
        Some(text(&big('b')))
    );
    // What was outside is untouched.
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("kubernetes/manifests.yaml")).ok(),
        Some(text(&big('b')))
    );
    // A previous file with another name elsewhere (`cp -l`): not kept either.
    let copy = tmp.path().join("copy.yaml");
    std::fs::hard_link(out.join("c/kubernetes/manifests.yaml"), &copy).expect("link");
    write_output(&out, &[big('b')]).expect("sixth");
    assert_ne!(
        inode("c/kubernetes/manifests.yaml"),
        std::fs::metadata(&copy).expect("copy").ino()
    );
}
