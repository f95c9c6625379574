//! The JSON file store passes the conformance suite, on a fresh file per case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use otp_reset::{CodeHasher, User};
use otp_reset_json::JsonStore;
use serde_json::{Value, json};

/// A data file path in a folder of its own.
fn fresh_path() -> PathBuf {
    common::fresh_dir("json-store-conformance").join("data.json")
}

fn hasher() -> CodeHasher {
    CodeHasher::new(&[7; 32]).unwrap()
}

fn store_with(users: Vec<User>) -> JsonStore {
    let path = fresh_path();
    let users: Vec<Value> = users
        .into_iter()
        .map(|u| {
            let id: Value = u.id.0.parse::<u64>().map_or_else(|_| u.id.0.clone().into(), Value::from);
            json!({ "id": id, "nama": u.name, "email": "x@example.com", "noHp": u.phone.digits(), "password": u.password })
        })
        .collect();
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({ "users": users, "otps": [] })).unwrap(),
    )
    .unwrap();
    JsonStore::open(&path, &hasher()).unwrap()
}

otp_reset::otp_store_conformance!(async { JsonStore::open(fresh_path(), &hasher()).unwrap() });
otp_reset::user_store_conformance!(|users| async move { store_with(users) });
