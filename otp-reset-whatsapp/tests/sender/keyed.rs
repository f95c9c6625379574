//! Keyed sends: a message created under an id WhatsApp Web gave, found by that id, also by a new
//! sender after the one that sent it was killed mid-send.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use otp_reset::{Delivered, MessageKey, SendError, Sender, SenderState, SentLookup};
use otp_reset_whatsapp::WhatsAppSender;
use whatsapp_imitation::Imitation;

use crate::common::{
    JOHN, ONE_BROWSER, SITI, WAIT, code_message, config, config_at, kill_browsers,
    let_chromium_save_the_session, linked, phone, session_dir, wait_for,
};

/// What `MsgKey.newId()` gives: `3EB0` and upper-case hex digits (22 characters in the ids
/// public reports show, such as `3EB0BB49FBFA087AD22DF5`).
fn assert_whatsapp_id(key: &MessageKey) {
    let id = key.as_str();
    assert!(
        id.starts_with("3EB0")
            && id.len() == 22
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "not a WhatsApp Web message id: {id}"
    );
}

async fn new_key(sender: &WhatsAppSender) -> MessageKey {
    sender
        .new_message_key(&phone(JOHN))
        .await
        .unwrap()
        .expect("the WhatsApp sender chooses its messages' ids")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_under_a_new_key_is_created_under_it_and_found_by_it() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;

    let key = new_key(&sender).await;
    assert_whatsapp_id(&key);
    assert_ne!(key, new_key(&sender).await, "every key is fresh");
    let delivered = sender
        .send_as(&phone(JOHN), &code_message(), &key)
        .await
        .unwrap();
    let expected = format!("true_{JOHN}@c.us_{key}");
    assert_eq!(delivered.message_id.as_deref(), Some(expected.as_str()));
    let sent = imitation.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].id, expected,
        "WhatsApp Web created it under the key"
    );

    assert_eq!(
        sender.find_sent(&phone(JOHN), &key).await.unwrap(),
        SentLookup::Found(delivered)
    );
    let unused = new_key(&sender).await;
    assert_eq!(
        sender.find_sent(&phone(JOHN), &unused).await.unwrap(),
        SentLookup::NotFound
    );
    // Plain sends still get ids of their own.
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    assert_eq!(imitation.sent().len(), 2);
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_not_of_whatsapp_webs_form_is_refused_before_anything_is_sent() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    for bad in ["", "3EB0_ABC", "short", "3EB0 1234 5678"] {
        let key = MessageKey::new(bad);
        assert!(matches!(
            sender.send_as(&phone(JOHN), &code_message(), &key).await,
            Err(SendError::Failed(_))
        ));
        assert!(matches!(
            sender.find_sent(&phone(JOHN), &key).await,
            Err(SendError::Failed(_))
        ));
    }
    assert!(imitation.sent().is_empty());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_calls_before_ready_are_refused_as_not_ready() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = WhatsAppSender::start(config(&imitation, &session_dir())).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    assert!(matches!(
        sender.new_message_key(&phone(JOHN)).await,
        Err(SendError::NotReady(_))
    ));
    let key = MessageKey::new("3EB0C0FFEE00112233AABB");
    assert!(matches!(
        sender.find_sent(&phone(JOHN), &key).await,
        Err(SendError::NotReady(_))
    ));
    sender.shutdown().await;
}

/// The child's settings, from the parent.
const CHILD_URL: &str = "OTP_RESET_WHATSAPP_TEST_CHILD_URL";
const CHILD_SESSIONS: &str = "OTP_RESET_WHATSAPP_TEST_CHILD_SESSIONS";
/// The prefix of what the child tells the parent.
const SAYS: &str = "@@keyed-sender@@";

fn say(what: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{SAYS} {what}").unwrap();
    out.flush().unwrap();
}

/// Run by the crash test as a child process (does nothing otherwise): a queue worker that starts
/// a sender on the kept session, records two keys (prints them), and sends a code under the
/// first; the parent kills it while that send waits for WhatsApp's acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_for_the_crash_test() {
    let (Ok(url), Some(sessions)) = (std::env::var(CHILD_URL), std::env::var_os(CHILD_SESSIONS))
    else {
        return;
    };
    let sender = WhatsAppSender::start(config_at(&url, Path::new(&sessions))).unwrap();
    wait_for(&sender, "READY on the kept session", |s| {
        *s == SenderState::Ready
    })
    .await;
    let sent = new_key(&sender).await;
    let unsent = sender.new_message_key(&phone(SITI)).await.unwrap().unwrap();
    say(&format!("keys {sent} {unsent}"));
    let result = sender.send_as(&phone(JOHN), &code_message(), &sent).await;
    say(&format!("sent {}", result.is_ok()));
    // The parent kills this process before the acknowledgement comes.
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// The worker, a child process running this test binary; killed when dropped.
struct Worker {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Worker {
    fn start(url: &str, sessions: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["keyed::worker_for_the_crash_test", "--exact", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(CHILD_URL, url)
            .env(CHILD_SESSIONS, sessions)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness may print its own words in front of a line.
                if let Some(at) = line.find(SAYS)
                    && sender
                        .send(line[at + SAYS.len()..].trim().to_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the worker stopped talking")
    }

    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_worker_killed_mid_send_a_new_sender_finds_what_it_created_and_only_that() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.register(SITI);
    let sessions: PathBuf = session_dir();
    let sender = linked(&imitation, config(&imitation, &sessions)).await;
    let_chromium_save_the_session(&imitation, &sessions).await;
    sender.shutdown().await;

    // The worker's message reaches WhatsApp, whose answer is held: the worker dies mid-send.
    imitation.hold_sends();
    let mut worker = Worker::start(&imitation.url(), &sessions);
    let line = worker.next_line();
    let keys: Vec<&str> = line
        .strip_prefix("keys ")
        .unwrap_or_else(|| panic!("the worker said {line:?}"))
        .split(' ')
        .collect();
    let (sent, unsent) = (MessageKey::new(keys[0]), MessageKey::new(keys[1]));
    let created = format!("true_{JOHN}@c.us_{sent}");
    assert!(
        imitation
            .wait_until(WAIT, |i| i.held_sends().contains(&created))
            .await,
        "the worker's message never reached WhatsApp"
    );
    worker.kill();
    kill_browsers(&sessions.join("session-test"));
    imitation.release_sends();

    let sender = WhatsAppSender::start(config(&imitation, &sessions)).unwrap();
    wait_for(&sender, "READY on the kept session", |s| {
        *s == SenderState::Ready
    })
    .await;
    assert_eq!(
        sender.find_sent(&phone(JOHN), &sent).await.unwrap(),
        SentLookup::Found(Delivered {
            message_id: Some(created.clone())
        }),
        "the message created before the kill is found: it must not be sent again"
    );
    assert_eq!(
        sender.find_sent(&phone(SITI), &unsent).await.unwrap(),
        SentLookup::NotFound,
        "a key recorded but never sent is not found: sending under it is safe"
    );
    let delivered = sender
        .send_as(&phone(SITI), &code_message(), &unsent)
        .await
        .unwrap();
    let ids: Vec<String> = imitation.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(
        ids,
        [created, delivered.message_id.unwrap()],
        "each message delivered once"
    );
    sender.shutdown().await;
}
