//! The error body every refusal carries, and the node's own error codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error answer: `{"code": "...", "message": "..."}`. `code` is stable
/// and machine-readable: one of [`ErrorCode`], or, for a transaction the ledger's rules
/// refuse at admission, the ledger's own code (verity-state's `StateError` codes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `bad_signature`, `mempool_full`, `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// The node's own code, if `code` is one (else a ledger code).
    pub fn node_code(&self) -> Option<ErrorCode> {
        self.code.parse().ok()
    }
}

/// Declares [`ErrorCode`] from `Variant = "code"` lines and derives `as_str`, `FromStr`
/// and `ALL` from that one list.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// The node's own error codes: refusals of the HTTP layer and of admission. Codes
        /// are API: a code is only ever added.
        ///
        /// Every code is its variant's name in snake_case: `rename_all` says so to the
        /// OpenAPI derive, which does not read a rename that comes from a macro argument.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $code)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }

        impl std::str::FromStr for ErrorCode {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                match s {
                    $($code => Ok(ErrorCode::$variant),)*
                    _ => Err(UnknownCode),
                }
            }
        }
    };
}

/// A code that is not one of [`ErrorCode`] (a ledger code, or one from a newer node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownCode;

error_codes! {
    // ----- the request's shape (400) -----
    /// The body is not the JSON the operation takes.
    InvalidJson = "invalid_json",
    /// A path parameter is malformed.
    InvalidPath = "invalid_path",
    /// A query parameter is malformed or out of range.
    InvalidQuery = "invalid_query",
    /// Reading the request body failed (400), or a binary batch is not a borsh list
    /// of byte strings (422).
    InvalidBody = "invalid_body",
    /// A hash is not 64 hex digits.
    InvalidHash = "invalid_hash",
    /// A height is not a number or `latest`.
    InvalidHeight = "invalid_height",
    /// An identifier breaks the identifier rules.
    InvalidId = "invalid_id",
    /// A key (state key or public key) is malformed, or neither or both of `key` and
    /// `key_hex` were given.
    InvalidKey = "invalid_key",
    /// A licence in a dataset check is invalid.
    InvalidLicence = "invalid_licence",
    /// An event filter names no module.
    InvalidModule = "invalid_module",
    /// A record reference is malformed.
    InvalidRecord = "invalid_record",
    /// A dataset check lists more items than one request may.
    TooManyItems = "too_many_items",
    // ----- content (422) and size (413, 415) -----
    /// The transaction bytes are not hex or do not decode.
    MalformedTx = "malformed_tx",
    /// A consistency range the log does not hold.
    InvalidRange = "invalid_range",
    /// The lineage is too large for one audit bundle.
    BundleTooLarge = "bundle_too_large",
    /// A batch holds more transactions than one request may.
    BatchTooLarge = "batch_too_large",
    /// The body is above the request size limit.
    PayloadTooLarge = "payload_too_large",
    /// The body is not `application/json` (nor, for a batch, `application/octet-stream`).
    UnsupportedMediaType = "unsupported_media_type",
    // ----- admission (409, 422, 429, 503) -----
    /// The transaction names another chain.
    WrongChain = "wrong_chain",
    /// The transaction's signature does not verify.
    BadSignature = "bad_signature",
    /// The transaction is already in the mempool or committed.
    DuplicateTx = "duplicate_tx",
    /// Another transaction of the sender with this nonce is pending.
    NoncePending = "nonce_pending",
    /// The nonce is too far ahead of the sender's next nonce.
    NonceTooFar = "nonce_too_far",
    /// The sender has too many transactions pending; retry after Retry-After.
    SenderQuota = "sender_quota",
    /// The mempool is full; retry after Retry-After.
    MempoolFull = "mempool_full",
    /// Dropped from the mempool: an earlier nonce of the sender was refused, so this one
    /// can never be next.
    NonceGap = "nonce_gap",
    /// The node is stopping.
    ShuttingDown = "shutting_down",
    // ----- the node (404, 408, 500, 503) -----
    /// Nothing has this id, hash, height or reference.
    NotFound = "not_found",
    /// The endpoint does not take this method.
    MethodNotAllowed = "method_not_allowed",
    /// The body did not arrive in time.
    BodyTimeout = "body_timeout",
    /// The node took too long to answer; the request may still take effect.
    RequestTimeout = "request_timeout",
    /// Too many requests are in flight; retry after Retry-After.
    Overloaded = "overloaded",
    /// Too many connections are open; retry after Retry-After.
    TooManyConnections = "too_many_connections",
    /// Too many event streams are open.
    TooManySubscribers = "too_many_subscribers",
    /// The node failed (a durable write failed); it serves reads only.
    NodeFailed = "node_failed",
    /// A bug or an I/O failure in the node.
    Internal = "internal",
}

impl ErrorCode {
    /// Whether a refusal with this code left the node unchanged and says to come back
    /// later (429/503 with Retry-After): the request may be sent again as it is. Not
    /// `request_timeout` (after which the request may have taken effect) nor
    /// `shutting_down` or `node_failed` (which do not pass).
    pub fn is_load_refusal(self) -> bool {
        matches!(
            self,
            ErrorCode::SenderQuota | ErrorCode::MempoolFull | ErrorCode::Overloaded | ErrorCode::TooManyConnections
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_text_and_json_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{} listed twice", c.as_str());
            assert_eq!(c.as_str().parse::<ErrorCode>(), Ok(c));
            assert_eq!(serde_json::to_value(c).expect("json"), serde_json::json!(c.as_str()));
        }
        assert_eq!("insufficient_funds".parse::<ErrorCode>(), Err(UnknownCode));
        let body = ApiError { code: "mempool_full".into(), message: "full".into() };
        assert_eq!(body.node_code(), Some(ErrorCode::MempoolFull));
        assert!(ErrorCode::MempoolFull.is_load_refusal());
        assert!(!ErrorCode::RequestTimeout.is_load_refusal());
    }
}
