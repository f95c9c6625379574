//! Unit tests of the parent module.

#![allow(clippy::unwrap_used)]

use super::*;

fn load(bytes: &[u8]) -> (State, bool) {
    let codes = CodeHasher::new(&[7; 32]).unwrap();
    State::load(serde_json::from_slice(bytes).unwrap(), &codes)
}

#[test]
fn a_number_looked_up_is_the_number_parsed() {
    let texts = [
        "6281234567890",
        "081234567890",
        "+62 812-3456-7890",
        "6281234567890",
        "+44 7911 123456",
        "447911123456",
        "447911123456",
        "16502530000",
        "+1 650 253 0000",
        "16502530000",
        "06281234567890",
        "+6281234567890",
        "12345",
        "",
    ];
    for text in texts {
        assert_eq!(read_number(text), PhoneNumber::parse(text).ok(), "{text}");
    }
    // Numbers as the store writes them, read back without a parse.
    for text in ["6281234567890", "+447911123456", "+16502530000"] {
        let phone = PhoneNumber::parse(text).unwrap();
        assert_eq!(stored_number(phone), text);
        assert_eq!(read_number(text), Some(phone), "{text}");
    }
}

#[test]
fn a_number_in_the_stores_form_is_taken_as_its_digits_without_validation() {
    // Not a number anyone can type: no typed number, always validated, ever finds it.
    assert_eq!(
        PhoneNumber::parse("6299"),
        Err(otp_reset::PhoneError::Invalid)
    );
    assert_eq!(read_number("6299"), PhoneNumber::from_u64(6299));
    // The same digits typed another way are parsed, and refused.
    assert_eq!(read_number("+6299"), None);
    assert_eq!(read_number("099"), None);
}

#[test]
fn a_streamed_snapshot_is_the_data_file_serialised() {
    let legacy = include_bytes!("../../tests/fixtures/legacy-data.json");
    let mut file: Value = serde_json::from_slice(legacy).unwrap();
    file["site"] = serde_json::json!({ "name": "Tiket Kita", "tags": [1, 2] });
    let users = file["users"].as_array_mut().unwrap();
    users[0]["address"] = serde_json::json!({ "city": "Bandung", "zip": [40111] });
    users[1].as_object_mut().unwrap().remove("password");
    users.push(serde_json::json!({ "nama": "no id", "noHp": "0812 1111 2222" }));
    let (state, _) = load(&serde_json::to_vec(&file).unwrap());
    let captured = state.capture();

    let mut otps = Vec::new();
    let mut limits = Vec::new();
    for (phone, ledger) in &captured.ledgers {
        let (otp, limit) = ledger_to_json(*phone, ledger);
        otps.extend(otp);
        limits.extend(limit);
    }
    let users = captured.users.iter().map(|user| {
        let mut raw = user.raw.clone();
        if let Some(phone) = user.phone {
            raw.insert("noHp".into(), stored_number(phone).into());
        }
        raw.insert("password".into(), user.password.clone().into());
        raw
    });
    let whole = DataFile {
        users: users.chain(captured.unreadable_users.clone()).collect(),
        otps,
        limits,
        extra: captured.extra.clone(),
    };
    let mut expected = serde_json::to_vec_pretty(&whole).unwrap();
    expected.push(b'\n');
    assert!(!whole.limits.is_empty());
    assert_eq!(
        String::from_utf8(captured.to_bytes().unwrap()).unwrap(),
        String::from_utf8(expected).unwrap()
    );
}

#[test]
fn an_old_file_needs_an_upgrade_and_a_snapshot_of_it_none() {
    let legacy = include_bytes!("../../tests/fixtures/legacy-data.json");
    let (state, upgrade) = load(legacy);
    assert!(upgrade, "numbers as typed, plain-text codes");
    let snapshot = state.capture().to_bytes().unwrap();
    let (again, upgrade) = load(&snapshot);
    assert!(!upgrade, "what the store writes is as it writes it");
    assert_eq!(again.capture().to_bytes().unwrap(), snapshot);
}
