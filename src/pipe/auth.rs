//! The authkey handshake of Python's `multiprocessing.connection`, both
//! generations.
//!
//! Each side *delivers* a challenge and *answers* the peer's (the listener
//! delivers first). A challenge is `#CHALLENGE#` followed by a message; the
//! answer is an HMAC of the whole message under the shared key; the
//! challenger replies `#WELCOME#` or `#FAILURE#`. Every handshake frame is
//! read with a 256-byte limit, so an unauthenticated peer cannot make us
//! allocate more.
//!
//! - **Modern** (Python ≥ 3.12, and ours): the message is `{sha256}` + 40
//!   random bytes; the answer is `{sha256}` + HMAC-SHA256(key, message),
//!   the MAC covering the prefix too, so a peer cannot downgrade it.
//! - **Legacy** (Python ≤ 3.11): the message is 20 random bytes and the
//!   answer a raw 16-byte HMAC-MD5. A legacy peer answers *our* modern
//!   challenge that way too (it MACs the whole message, prefix included).
//!   Both directions of the legacy form are accepted only when
//!   `Authkey::legacy_md5` allows it (an explicit opt-in, and compiled only
//!   with the crate's `legacy-md5` feature: MD5 is broken, so a default end
//!   speaks and accepts `{sha256}` only).
//!
//! Comparisons of MACs are constant time (`hmac`'s `verify_slice`).

use std::fmt;
use std::time::Instant;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::AuthenticationError;
use super::{Connection, RecvError, SendError};
use crate::sys;

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";
/// Random bytes in our challenge (Python ≥ 3.12's `MESSAGE_LENGTH`).
const NONCE_LEN: usize = 40;
/// A legacy challenge's message, and the shortest a challenge may be.
const LEGACY_CHALLENGE_LEN: usize = 20;
/// A raw HMAC-MD5.
const MD5_LEN: usize = 16;
/// The longest handshake frame either side reads (Python's limit).
pub(crate) const HANDSHAKE_MAX: usize = 256;
const SHA256_TAG: &[u8] = b"{sha256}";
const MD5_TAG: &[u8] = b"{md5}";

/// A shared secret for [`Listener`](crate::Listener) and
/// [`Client`](crate::Client) (Python's `authkey`), with the one option of
/// the handshake: whether the legacy HMAC-MD5 form of Python ≤ 3.11 is
/// accepted. It is not by default: a Python ≤ 3.11 peer (whose handshake is
/// HMAC-MD5 only) gets [`AuthenticationError::LegacyRefused`], whose
/// message names the opt-in, `legacy_md5(true)`, a method of the crate's
/// `legacy-md5` feature. Python ≥ 3.12 speaks the `{sha256}` form, which is
/// always accepted.
///
/// The key is never printed by `Debug`.
///
/// # Examples
///
/// ```
/// let key = ipc::Authkey::new(b"secret password");
/// assert!(!key.allows_legacy_md5());
/// assert_eq!(format!("{key:?}"), "Authkey { len: 15, legacy_md5: false }");
/// ```
#[derive(Clone)]
pub struct Authkey {
    key: Vec<u8>,
    legacy_md5: bool,
}

impl Authkey {
    /// A key of any length (Python: `authkey=b"…"`).
    ///
    /// # Examples
    ///
    /// ```
    /// let key = ipc::Authkey::new(ipc::current_process().authkey());
    /// # let _ = key;
    /// ```
    pub fn new(key: impl AsRef<[u8]>) -> Authkey {
        Authkey { key: key.as_ref().to_vec(), legacy_md5: false }
    }

    /// Whether to accept the legacy handshake (raw HMAC-MD5, Python ≤ 3.11)
    /// from peers: their answer to our challenge, and their challenge to us.
    /// Off by default: only the `{sha256}` form passes and a legacy peer
    /// fails with [`AuthenticationError::LegacyRefused`]. Turn it on only to
    /// talk to a Python ≤ 3.11 peer, and preferably not over a network: the
    /// answer is an HMAC-MD5 of a 20-byte challenge. The MD5 code is in the
    /// build only with the crate's `legacy-md5` feature.
    ///
    /// # Examples
    ///
    /// ```
    /// let for_python_3_11 = ipc::Authkey::new(b"k").legacy_md5(true);
    /// assert!(for_python_3_11.allows_legacy_md5());
    /// assert_eq!(format!("{for_python_3_11:?}"), "Authkey { len: 1, legacy_md5: true }");
    /// ```
    #[cfg(feature = "legacy-md5")]
    #[cfg_attr(docsrs, doc(cfg(feature = "legacy-md5")))]
    pub fn legacy_md5(self, allow: bool) -> Authkey {
        self.with_legacy_md5(allow)
    }

    /// Whether the legacy handshake is accepted (see `legacy_md5`, a
    /// method of the `legacy-md5` feature; always `false` without it).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!ipc::Authkey::new(b"k").allows_legacy_md5());
    /// ```
    pub fn allows_legacy_md5(&self) -> bool {
        self.legacy_md5
    }
}

impl Authkey {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.key
    }

    /// The opt-in as a value that travels (a child's inherited keys, a
    /// manager's): without the `legacy-md5` feature it stays off.
    pub(crate) fn with_legacy_md5(mut self, allow: bool) -> Authkey {
        self.legacy_md5 = allow && cfg!(feature = "legacy-md5");
        self
    }
}

impl fmt::Debug for Authkey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authkey").field("len", &self.key.len()).field("legacy_md5", &self.legacy_md5).finish()
    }
}

/// The keys this process has authenticated to listeners with, by address:
/// how a decoded manager proxy (whose serde form carries no key) finds the
/// key for its server, and what a spawned child inherits (through its
/// bootstrap message, beside the tree's own key).
static KEYRING: std::sync::Mutex<Vec<(super::Address, Authkey)>> = std::sync::Mutex::new(Vec::new());

/// Remembers `key` as the one for `address` (the latest wins).
pub(crate) fn remember_key(address: &super::Address, key: &Authkey) {
    let mut ring = KEYRING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    ring.retain(|(a, _)| a != address);
    ring.push((address.clone(), key.clone()));
}

/// The key remembered for `address`.
pub(crate) fn known_key(address: &super::Address) -> Option<Authkey> {
    let ring = KEYRING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    ring.iter().find(|(a, _)| a == address).map(|(_, k)| k.clone())
}

/// Every remembered key, for a child: `(address, key, legacy_md5)`.
pub(crate) fn keyring() -> Vec<(super::Address, Vec<u8>, bool)> {
    let ring = KEYRING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    ring.iter().map(|(a, k)| (a.clone(), k.key.clone(), k.legacy_md5)).collect()
}

/// In a child: the keys its parent knew.
pub(crate) fn inherit_keyring(keys: Vec<(super::Address, Vec<u8>, bool)>) {
    for (address, key, legacy_md5) in keys {
        remember_key(&address, &Authkey::new(key).with_legacy_md5(legacy_md5));
    }
}

impl<T: AsRef<[u8]>> From<T> for Authkey {
    fn from(key: T) -> Authkey {
        Authkey::new(key)
    }
}

/// Why a handshake step failed: the peer's fault, or the transport's.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    Auth(AuthenticationError),
    Send(SendError),
    Recv(RecvError),
}

impl From<AuthenticationError> for HandshakeError {
    fn from(e: AuthenticationError) -> Self {
        HandshakeError::Auth(e)
    }
}

/// The two operations a handshake needs, so one implementation serves both
/// the async and the blocking forms.
pub(crate) trait Transport {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), SendError>;
    async fn recv(&mut self) -> Result<Vec<u8>, RecvError>;
}

/// An async connection.
pub(crate) struct Async<'a>(pub(crate) &'a mut Connection);

impl Transport for Async<'_> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.0.send_bytes(bytes).await
    }

    async fn recv(&mut self) -> Result<Vec<u8>, RecvError> {
        self.0.recv_bytes(HANDSHAKE_MAX).await
    }
}

/// A connection driven with blocking calls, receiving until an optional
/// deadline (then `Io(TimedOut)`). Run the handshake future with
/// `futures::executor::block_on`: it never returns `Pending`.
pub(crate) struct Blocking<'a>(pub(crate) &'a mut Connection, pub(crate) Option<Instant>);

impl Transport for Blocking<'_> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.0.blocking_send_bytes(bytes)
    }

    async fn recv(&mut self) -> Result<Vec<u8>, RecvError> {
        let left = crate::deadline::left(self.1);
        match self.0.blocking_recv_frame(HANDSHAKE_MAX, left)? {
            Some((bytes, _fds)) => Ok(bytes),
            None => Err(RecvError::Io(std::io::Error::from(std::io::ErrorKind::TimedOut))),
        }
    }
}

/// A connection that is never waited on: a receive with nothing there yet
/// is `Pending`, with no waker registered. Its handshake future is polled
/// again when `poll(2)` reports the socket readable (the blocking listener
/// drives many handshakes at once this way); sends are a few hundred bytes
/// into a fresh socket's buffer.
pub(crate) struct Polled<'a>(pub(crate) &'a mut Connection);

impl Transport for Polled<'_> {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.0.blocking_send_bytes(bytes)
    }

    async fn recv(&mut self) -> Result<Vec<u8>, RecvError> {
        std::future::poll_fn(|_| match self.0.try_recv_frame(HANDSHAKE_MAX) {
            Ok(Some((bytes, _fds))) => std::task::Poll::Ready(Ok(bytes)),
            Ok(None) => std::task::Poll::Pending,
            Err(e) => std::task::Poll::Ready(Err(e)),
        })
        .await
    }
}

/// A peer that says what it was given and hears nothing (fuzzing).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) struct Scripted(std::collections::VecDeque<Vec<u8>>);

#[cfg(any(test, feature = "fuzzing"))]
impl Scripted {
    pub(crate) fn new(frames: Vec<Vec<u8>>) -> Scripted {
        Scripted(frames.into())
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl Transport for Scripted {
    async fn send(&mut self, _bytes: &[u8]) -> Result<(), SendError> {
        Ok(())
    }

    async fn recv(&mut self) -> Result<Vec<u8>, RecvError> {
        self.0.pop_front().ok_or(RecvError::Eof)
    }
}

async fn recv(t: &mut impl Transport) -> Result<Vec<u8>, HandshakeError> {
    match t.recv().await {
        Ok(bytes) => Ok(bytes),
        Err(RecvError::TooLarge { len, .. }) => Err(AuthenticationError::Protocol(format!(
            "handshake message of {len} bytes (at most {HANDSHAKE_MAX} allowed)"
        ))
        .into()),
        Err(e) => Err(HandshakeError::Recv(e)),
    }
}

async fn send(t: &mut impl Transport, bytes: &[u8]) -> Result<(), HandshakeError> {
    t.send(bytes).await.map_err(HandshakeError::Send)
}

/// The listener's side: challenge, then answer.
pub(crate) async fn server(t: &mut impl Transport, key: &Authkey) -> Result<(), HandshakeError> {
    deliver(t, key).await?;
    answer(t, key).await
}

/// The client's side: answer, then challenge.
pub(crate) async fn client(t: &mut impl Transport, key: &Authkey) -> Result<(), HandshakeError> {
    answer(t, key).await?;
    deliver(t, key).await
}

/// Sends a `{sha256}` challenge and checks the answer.
async fn deliver(t: &mut impl Transport, key: &Authkey) -> Result<(), HandshakeError> {
    let mut message = SHA256_TAG.to_vec();
    let mut nonce = [0u8; NONCE_LEN];
    sys::random_bytes(&mut nonce).map_err(|e| HandshakeError::Send(SendError::Io(e)))?;
    message.extend_from_slice(&nonce);
    send(t, &[CHALLENGE, &message].concat()).await?;
    let response = recv(t).await?;
    match verify(key, &message, &response) {
        Ok(()) => send(t, WELCOME).await,
        Err(e) => {
            // Tell the peer why it is being dropped, as Python does; if it is
            // already gone, the verdict is still ours.
            let _ = send(t, FAILURE).await;
            Err(e.into())
        }
    }
}

/// Reads the peer's challenge and answers it in the peer's own form.
async fn answer(t: &mut impl Transport, key: &Authkey) -> Result<(), HandshakeError> {
    let challenge = recv(t).await?;
    let Some(message) = challenge.strip_prefix(CHALLENGE) else {
        return Err(AuthenticationError::Protocol("expected #CHALLENGE#".into()).into());
    };
    if message.len() < LEGACY_CHALLENGE_LEN {
        return Err(AuthenticationError::Protocol(format!("challenge too short: {} bytes", message.len())).into());
    }
    let response = match respond(key, message) {
        Ok(response) => response,
        Err(e) => {
            // An answer that can never verify, so the peer fails with its
            // own authentication error rather than an end of stream.
            let _ = send(t, FAILURE).await;
            return Err(e.into());
        }
    };
    send(t, &response).await?;
    let verdict = recv(t).await?;
    if verdict == WELCOME {
        Ok(())
    } else if verdict == FAILURE {
        Err(AuthenticationError::Rejected.into())
    } else {
        Err(AuthenticationError::Protocol("expected #WELCOME# or #FAILURE#".into()).into())
    }
}

/// The digest a challenge or an answer names.
#[derive(Debug, PartialEq, Eq)]
enum Digest {
    /// Raw HMAC-MD5, no prefix (Python ≤ 3.11).
    LegacyMd5,
    /// `{md5}`-prefixed HMAC-MD5.
    Md5,
    Sha256,
}

/// Splits `{name}payload`; the legacy lengths (a 20-byte challenge, a
/// 16-byte answer) carry no prefix.
fn digest_of(message: &[u8]) -> Result<(Digest, &[u8]), AuthenticationError> {
    if message.len() == LEGACY_CHALLENGE_LEN || message.len() == MD5_LEN {
        return Ok((Digest::LegacyMd5, message));
    }
    if let Some(rest) = message.strip_prefix(SHA256_TAG) {
        return Ok((Digest::Sha256, rest));
    }
    if let Some(rest) = message.strip_prefix(MD5_TAG) {
        return Ok((Digest::Md5, rest));
    }
    let name = message
        .strip_prefix(b"{")
        .and_then(|rest| rest.iter().take(16).position(|&b| b == b'}').map(|end| &rest[..end]));
    Err(match name {
        Some(name) => AuthenticationError::Unsupported(String::from_utf8_lossy(name).into_owned()),
        None => AuthenticationError::Protocol("missing {digest} prefix".into()),
    })
}

fn refuse_legacy(key: &Authkey, digest: &Digest) -> Result<(), AuthenticationError> {
    if *digest != Digest::Sha256 && !key.legacy_md5 {
        return Err(AuthenticationError::LegacyRefused);
    }
    Ok(())
}

/// Our answer to `message` (the challenge after `#CHALLENGE#`).
fn respond(key: &Authkey, message: &[u8]) -> Result<Vec<u8>, AuthenticationError> {
    let (digest, _) = digest_of(message)?;
    refuse_legacy(key, &digest)?;
    Ok(match digest {
        Digest::LegacyMd5 => legacy::mac(key, message)?,
        Digest::Md5 => [MD5_TAG, &legacy::mac(key, message)?].concat(),
        Digest::Sha256 => [SHA256_TAG, &sha256_mac(key, message).finalize().into_bytes()].concat(),
    })
}

/// Checks the peer's `response` to our challenge `message`, in constant time.
fn verify(key: &Authkey, message: &[u8], response: &[u8]) -> Result<(), AuthenticationError> {
    let (digest, mac) = digest_of(response)?;
    refuse_legacy(key, &digest)?;
    match digest {
        Digest::LegacyMd5 | Digest::Md5 => legacy::verify(key, message, mac),
        Digest::Sha256 => sha256_mac(key, message).verify_slice(mac).map_err(|_| AuthenticationError::WrongDigest),
    }
}

/// HMAC-MD5, the legacy form (the `legacy-md5` feature).
#[cfg(feature = "legacy-md5")]
mod legacy {
    use hmac::{Hmac, Mac};
    use md5::Md5;

    use super::{AuthenticationError, Authkey};

    pub(super) fn hmac(key: &Authkey, message: &[u8]) -> Hmac<Md5> {
        let mut mac = <Hmac<Md5> as Mac>::new_from_slice(&key.key).expect("HMAC takes keys of any length");
        mac.update(message);
        mac
    }

    pub(super) fn mac(key: &Authkey, message: &[u8]) -> Result<Vec<u8>, AuthenticationError> {
        Ok(hmac(key, message).finalize().into_bytes().to_vec())
    }

    pub(super) fn verify(key: &Authkey, message: &[u8], mac: &[u8]) -> Result<(), AuthenticationError> {
        hmac(key, message).verify_slice(mac).map_err(|_| AuthenticationError::WrongDigest)
    }
}

/// Without the `legacy-md5` feature no key allows the legacy form, so
/// `refuse_legacy` has refused before these are reached; they refuse too.
#[cfg(not(feature = "legacy-md5"))]
mod legacy {
    use super::{AuthenticationError, Authkey};

    pub(super) fn mac(_: &Authkey, _: &[u8]) -> Result<Vec<u8>, AuthenticationError> {
        Err(AuthenticationError::LegacyRefused)
    }

    pub(super) fn verify(_: &Authkey, _: &[u8], _: &[u8]) -> Result<(), AuthenticationError> {
        Err(AuthenticationError::LegacyRefused)
    }
}

fn sha256_mac(key: &Authkey, message: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Authkey {
        Authkey::new(b"abracadabra")
    }

    #[test]
    fn modern_answers_verify_and_cover_the_prefix() {
        let message = [SHA256_TAG, &[7u8; NONCE_LEN]].concat();
        let answer = respond(&key(), &message).unwrap();
        assert!(answer.starts_with(SHA256_TAG));
        assert_eq!(answer.len(), SHA256_TAG.len() + 32);
        verify(&key(), &message, &answer).unwrap();
        // The same MAC under another key, or for another message, fails.
        assert!(matches!(verify(&Authkey::new(b"other"), &message, &answer), Err(AuthenticationError::WrongDigest)));
        let mut other = message.clone();
        other[SHA256_TAG.len()] ^= 1;
        assert!(matches!(verify(&key(), &other, &answer), Err(AuthenticationError::WrongDigest)));
    }

    #[cfg(feature = "legacy-md5")]
    #[test]
    fn legacy_answers_are_raw_md5_and_optional() {
        // Python ≤ 3.11 challenges with 20 bytes and expects 16 raw bytes.
        let message = [3u8; LEGACY_CHALLENGE_LEN];
        let allowing = key().legacy_md5(true);
        let answer = respond(&allowing, &message).unwrap();
        assert_eq!(answer.len(), MD5_LEN);
        // A legacy peer answers our modern challenge with raw MD5 too.
        let ours = [SHA256_TAG, &[9u8; NONCE_LEN]].concat();
        let legacy = legacy::hmac(&key(), &ours).finalize().into_bytes();
        verify(&allowing, &ours, &legacy).unwrap();
        // A default key refuses both directions.
        assert!(matches!(verify(&key(), &ours, &legacy), Err(AuthenticationError::LegacyRefused)));
        assert!(matches!(respond(&key(), &message), Err(AuthenticationError::LegacyRefused)));
    }

    #[test]
    fn garbage_answers_are_errors() {
        let ours = [SHA256_TAG, &[1u8; NONCE_LEN]].concat();
        for bad in [&b""[..], b"{sha256}", b"{sha384}0123456789abcdef0123", b"no prefix at all here", b"{unterminated"]
        {
            assert!(verify(&key(), &ours, bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            digest_of(b"{sha3_256}0123456789abcdefghij"),
            Err(AuthenticationError::Unsupported(name)) if name == "sha3_256"
        ));
    }
}
