//! The keystore through the real binary: `verity keys encrypt` / `decrypt`, signing with
//! an encrypted keystore, passphrases from a file or the environment (never a flag), the
//! warning on a keystore others can read, and no temporary files left by `init`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Runs `verity ARGS` with `passphrase` in VERITY_KEYSTORE_PASSPHRASE (or the variable
/// removed, so a developer's own environment cannot leak into the test).
fn run(args: &[&str], passphrase: Option<&str>) -> Output {
    let mut cmd = Command::new(verity_bin());
    cmd.args(args).env("RUST_LOG", "warn").env_remove("VERITY_KEYSTORE_PASSPHRASE");
    if let Some(p) = passphrase {
        cmd.env("VERITY_KEYSTORE_PASSPHRASE", p);
    }
    cmd.output().expect("running verity")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output, what: &str) -> Output {
    assert!(out.status.success(), "{what} failed: {}", stderr(&out));
    out
}

fn refused(out: Output, what: &str, message: &str) {
    assert!(!out.status.success(), "{what} succeeded");
    assert!(stderr(&out).contains(message), "{what}: expected {message:?} in: {}", stderr(&out));
}

/// `model sign --key-account admin`: an offline command that needs the admin's secret key.
fn sign_args<'a>(ks: &'a str, model: &'a str, sig: &'a str) -> Vec<&'a str> {
    vec!["--keystore", ks, "model", "sign", model, "--key-account", "admin", "-o", sig]
}

#[test]
fn encrypt_sign_and_decrypt_through_the_binary() {
    let dir = init_dir();
    let ks_path = net(&dir).join("keystore.json");
    let ks = ks_path.to_str().expect("utf-8");
    let model = dir.path().join("model.bin");
    std::fs::write(&model, b"weights").expect("model");
    let model = model.to_str().expect("utf-8");
    let sig = dir.path().join("model.sig");
    let sig = sig.to_str().expect("utf-8");
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, "a long passphrase\n").expect("pass");
    let wrong_file = dir.path().join("wrong");
    std::fs::write(&wrong_file, "not it\n").expect("wrong");
    let plaintext = std::fs::read(&ks_path).expect("keystore");
    let admin_public_key = |json: &serde_json::Value| json["keys"]["admin"]["public_key"].clone();
    let plain_json: serde_json::Value = serde_json::from_slice(&plaintext).expect("json");
    let seed = plain_json["keys"]["admin"]["seed"].as_str().expect("seed").to_string();

    // Encrypting needs a passphrase: none given is a clear error, and the file stays.
    refused(run(&["--keystore", ks, "keys", "encrypt"], None), "encrypt without passphrase", "passphrase");
    assert_eq!(std::fs::read(&ks_path).expect("keystore"), plaintext);

    ok(
        run(&["--keystore", ks, "--passphrase-file", pass_file.to_str().expect("utf-8"), "keys", "encrypt"], None),
        "encrypt",
    );
    let encrypted = std::fs::read(&ks_path).expect("keystore");
    let enc_json: serde_json::Value = serde_json::from_slice(&encrypted).expect("json");
    assert_eq!(enc_json["version"], 2);
    assert_eq!(enc_json["encryption"]["kdf"], "argon2id");
    assert_eq!(enc_json["encryption"]["memory_kib"], 65536, "production parameters: 64 MiB");
    assert_eq!(admin_public_key(&enc_json), admin_public_key(&plain_json));
    assert!(!String::from_utf8_lossy(&encrypted).contains(&seed), "the seed is not in the encrypted file");
    refused(
        run(&["--keystore", ks, "--passphrase-file", pass_file.to_str().expect("utf-8"), "keys", "encrypt"], None),
        "encrypt twice",
        "already encrypted",
    );

    // Listing needs no passphrase; signing does, and refuses a wrong one.
    let list = ok(run(&["--json", "--keystore", ks, "keys", "list"], None), "list");
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(list[0]["encrypted"], true);
    refused(run(&sign_args(ks, model, sig), None), "sign without passphrase", "VERITY_KEYSTORE_PASSPHRASE");
    refused(run(&sign_args(ks, model, sig), Some("not it")), "sign with a wrong passphrase", "wrong passphrase");
    let mut wrong = vec!["--passphrase-file", wrong_file.to_str().expect("utf-8")];
    wrong.extend(sign_args(ks, model, sig));
    refused(run(&wrong, None), "sign with a wrong passphrase file", "wrong passphrase");
    assert!(!Path::new(sig).exists(), "nothing was signed");
    ok(run(&sign_args(ks, model, sig), Some("a long passphrase")), "sign with the passphrase from the environment");
    assert!(Path::new(sig).exists());

    // Decrypting with a wrong passphrase changes nothing; with the right one it gives
    // back the same seed in a plaintext keystore.
    refused(
        run(&["--keystore", ks, "keys", "decrypt"], Some("not it")),
        "decrypt with a wrong passphrase",
        "wrong passphrase",
    );
    assert_eq!(std::fs::read(&ks_path).expect("keystore"), encrypted, "the file is unchanged");
    ok(
        run(&["--keystore", ks, "--passphrase-file", pass_file.to_str().expect("utf-8"), "keys", "decrypt"], None),
        "decrypt",
    );
    let back: serde_json::Value = serde_json::from_slice(&std::fs::read(&ks_path).expect("keystore")).expect("json");
    assert_eq!(back["version"], 1);
    assert_eq!(back["keys"]["admin"]["seed"], seed.as_str());
    refused(run(&["--keystore", ks, "keys", "decrypt"], Some("x")), "decrypt a plaintext keystore", "not encrypted");

    // There is no flag that takes the passphrase itself.
    refused(run(&["--keystore", ks, "--passphrase", "x", "keys", "list"], None), "--passphrase", "unexpected argument");
}

#[cfg(unix)]
#[test]
fn a_keystore_others_can_read_draws_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = init_dir();
    let ks_path = net(&dir).join("keystore.json");
    let ks = ks_path.to_str().expect("utf-8");
    let out = ok(run(&["--keystore", ks, "keys", "list"], None), "list");
    assert!(!stderr(&out).contains("warning"), "init writes 0600: {}", stderr(&out));
    for mode in [0o644, 0o640] {
        std::fs::set_permissions(&ks_path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let out = ok(run(&["--keystore", ks, "keys", "list"], None), "list");
        let err = stderr(&out);
        assert!(err.contains("warning: keystore") && err.contains(&format!("mode {mode:03o}")), "{err}");
        assert!(err.contains("chmod 600"), "{err}");
    }
}

/// `init` writes each file whole: nothing but the expected files remains (no temporary
/// file), genesis.json parses, and the keystore is 0600.
#[test]
fn init_leaves_only_complete_files() {
    let dir = init_dir();
    let mut names: Vec<String> = std::fs::read_dir(net(&dir))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["genesis.json", "keystore.json", "validator.json"]);
    let genesis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(net(&dir).join("genesis.json")).expect("genesis")).expect("json");
    // The chain id is bound to this genesis: its label, then 16 hex digits of its digest.
    let id = genesis["chain_id"].as_str().expect("chain id");
    assert!(id.starts_with("verity-dev-") && id.len() == "verity-dev-".len() + 16, "{id}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(net(&dir).join("keystore.json")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
