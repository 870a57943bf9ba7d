//! Interoperability with the reference implementation, OpenSSF `model_signing` 1.1.1,
//! run from the repository's `.venv` (created by `scripts/py-venv.sh`, which
//! `scripts/test.sh` runs first). P-256 keys are generated with `openssl` at test time.
//!
//! A missing venv fails the test; set VERITY_SKIP_PY_INTEROP=1 to skip it explicitly.

use std::path::{Path, PathBuf};
use std::process::Command;

use verity_oms::fingerprint::{self, HashAlgorithm, Options};
use verity_oms::oms::{self, SigningKey, VerifyingKey};
use verity_oms::{Difference, OmsError};

/// The venv's bin directory, or `None` when the caller asked to skip.
fn venv_bin() -> Option<PathBuf> {
    verity_testkit::repo::venv("bin/model_signing", "the model_signing interoperability test")
        .map(|tool| tool.parent().expect("bin directory").to_path_buf())
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A model with nested directories, a file crossing several 1 MiB read chunks, an
/// empty file, and git paths; contents are deterministic pseudo-random bytes.
fn write_model(dir: &Path) -> PathBuf {
    let root = dir.join("model");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("config.json", b"{\"layers\": 2}".to_vec()),
        ("weights/model-00001.safetensors", bytes(3 * 1024 * 1024 + 17)),
        ("weights/model-00002.safetensors", bytes(200_000)),
        ("weights.index", bytes(1000)),
        ("tokenizer/vocab.txt", bytes(4097)),
        ("empty.bin", Vec::new()),
        (".gitattributes", b"*.safetensors filter=lfs".to_vec()),
        (".git/HEAD", b"ref: refs/heads/main\n".to_vec()),
    ];
    for (rel, data) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        std::fs::write(p, data).expect("write");
    }
    root
}

/// model_signing's statement for `path` with the given options, via the helper script.
fn python_statement(bin: &Path, path: &Path, args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/oms_fingerprint.py");
    let out = run_ok(Command::new(bin.join("python")).arg(script).arg(path).args(args));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("helper prints JSON");
    v["statement"].clone()
}

fn openssl_p256(dir: &Path, pkcs8: bool) -> (PathBuf, PathBuf) {
    let key = dir.join(if pkcs8 { "p8.pem" } else { "sec1.pem" });
    let public = dir.join(if pkcs8 { "p8.pub.pem" } else { "sec1.pub.pem" });
    if pkcs8 {
        run_ok(
            Command::new("openssl")
                .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
                .arg(&key),
        );
    } else {
        run_ok(Command::new("openssl").args(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out"]).arg(&key));
    }
    run_ok(Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&key).arg("-out").arg(&public));
    (key, public)
}

#[test]
fn fingerprints_equal_model_signing() {
    let Some(bin) = venv_bin() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write_model(dir.path());
    let cases: Vec<(Options, Vec<&str>)> = vec![
        (Options::default(), vec![]),
        (Options { shard_size: Some(1000), ..Options::default() }, vec!["--shard-size", "1000"]),
        (Options { shard_size: Some(1_048_577), ..Options::default() }, vec!["--shard-size", "1048577"]),
        (Options { hash: HashAlgorithm::Blake3, ..Options::default() }, vec!["--hash", "blake3"]),
        (
            Options { hash: HashAlgorithm::Blake3, shard_size: Some(1000), ..Options::default() },
            vec!["--hash", "blake3", "--shard-size", "1000"],
        ),
    ];
    for path in [root.clone(), root.join("weights/model-00001.safetensors")] {
        for (options, args) in &cases {
            let ours = fingerprint::fingerprint(&path, options, None).expect("fingerprint");
            let theirs = python_statement(&bin, &path, args);
            assert_eq!(theirs["subject"][0]["digest"]["sha256"], ours.digest_hex(), "{path:?} {args:?}");
            assert_eq!(theirs["subject"][0]["name"], ours.model_name.as_str());
            let names: Vec<&str> = theirs["predicate"]["resources"]
                .as_array()
                .expect("resources")
                .iter()
                .map(|r| r["name"].as_str().expect("name"))
                .collect();
            let our_names: Vec<&str> = ours.resources.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(names, our_names, "{path:?} {args:?}");
            let method = theirs["predicate"]["serialization"]["method"].as_str().expect("method");
            let our_method = match ours.serialization.method {
                fingerprint::Method::Files => "files",
                fingerprint::Method::Shards { .. } => "shards",
            };
            assert_eq!(method, our_method);
        }
    }
}

#[test]
fn model_signing_signs_and_we_verify() {
    let Some(bin) = venv_bin() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write_model(dir.path());
    for pkcs8 in [false, true] {
        let (key, public) = openssl_p256(dir.path(), pkcs8);
        // The signature inside the model, as model_signing's default `model.sig` is.
        let sig = root.join("model.sig");
        run_ok(
            Command::new(bin.join("model_signing"))
                .args(["sign", "key"])
                .arg(&root)
                .arg("--private_key")
                .arg(&key)
                .arg("--signature")
                .arg(&sig),
        );
        let vk = VerifyingKey::from_pem(&std::fs::read_to_string(&public).expect("read")).expect("public key");
        let bundle = std::fs::read(&sig).expect("read sig");
        let v = oms::verify_model(&root, &bundle, Some(&sig), &vk, None).expect("ours verifies theirs");
        let without_sig = Options { ignore_paths: vec!["model.sig".into()], ..Options::default() };
        let ours = fingerprint::fingerprint(&root, &without_sig, None).expect("fingerprint");
        assert_eq!(v.signed.subject_digest, ours.digest());
        assert_eq!(v.signed.serialization, ours.serialization);

        // Wrong key.
        let other_dir = dir.path().join("other");
        std::fs::create_dir_all(&other_dir).expect("mkdir");
        let (_, other_public) = openssl_p256(&other_dir, !pkcs8);
        let other = VerifyingKey::from_pem(&std::fs::read_to_string(&other_public).expect("read")).expect("key");
        let err = oms::verify_model(&root, &bundle, Some(&sig), &other, None).expect_err("wrong key");
        assert!(matches!(err, OmsError::WrongKey { .. }), "{err}");

        // Tampered file.
        let victim = root.join("weights/model-00002.safetensors");
        let original = std::fs::read(&victim).expect("read");
        let mut changed = original.clone();
        changed[123] ^= 1;
        std::fs::write(&victim, &changed).expect("write");
        let err = oms::verify_model(&root, &bundle, Some(&sig), &vk, None).expect_err("tampered");
        match err {
            OmsError::ModelMismatch(d) => {
                assert_eq!(d, [Difference::Changed { resource: "weights/model-00002.safetensors".into() }])
            }
            other => panic!("expected a mismatch, got {other}"),
        }
        std::fs::write(&victim, &original).expect("restore");
        std::fs::remove_file(&sig).expect("cleanup");
    }
}

#[test]
fn we_sign_and_model_signing_verifies() {
    let Some(bin) = venv_bin() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = write_model(dir.path());
    let (key, public) = openssl_p256(dir.path(), false);
    let sk = SigningKey::from_pem(&std::fs::read_to_string(&key).expect("read")).expect("private key");
    let vk = VerifyingKey::from_pem(&std::fs::read_to_string(&public).expect("read")).expect("public key");
    assert_eq!(sk.verifying_key(), vk);
    let verify = |sig: &Path| {
        run(Command::new(bin.join("model_signing"))
            .args(["verify", "key"])
            .arg(&root)
            .arg("--signature")
            .arg(sig)
            .arg("--public_key")
            .arg(&public))
    };
    for sig in [root.join("model.sig"), dir.path().join("outside.sig")] {
        let (_, bundle) = oms::sign_model(&root, &Options::default(), Some(&sig), &sk, None).expect("sign");
        std::fs::write(&sig, bundle.to_json()).expect("write sig");
        let out = verify(&sig);
        assert!(out.status.success(), "model_signing rejected our bundle: {}", String::from_utf8_lossy(&out.stderr));

        // Tampered: model_signing must reject, and so must we.
        let victim = root.join("tokenizer/vocab.txt");
        let original = std::fs::read(&victim).expect("read");
        std::fs::write(&victim, b"tampered").expect("write");
        let out = verify(&sig);
        assert!(!out.status.success(), "model_signing accepted a tampered model");
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("tokenizer/vocab.txt"), "model_signing's reason names the file: {text}");
        let bytes = std::fs::read(&sig).expect("read");
        assert!(oms::verify_model(&root, &bytes, Some(&sig), &vk, None).is_err());
        std::fs::write(&victim, &original).expect("restore");

        // An extra file: both reject.
        std::fs::write(root.join("extra.bin"), b"x").expect("write");
        assert!(!verify(&sig).status.success(), "model_signing accepted an extra file");
        std::fs::remove_file(root.join("extra.bin")).expect("remove");
        assert!(verify(&sig).status.success());
        std::fs::remove_file(&sig).expect("cleanup");
    }
}
