//! The second-factor methods of the manual's step 8.

use serde::{Deserialize, Serialize};

/// A second-factor method a member can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// 生体認証: a passkey (platform authenticator, security key, or phone).
    Passkey,
    /// OTP アプリ: an authenticator app's time-based code.
    TotpApp,
    /// OTP メール: a code sent to the verified address.
    EmailOtp,
}

impl Method {
    /// Every method, in the manual's order.
    pub const ALL: [Method; 3] = [Method::Passkey, Method::TotpApp, Method::EmailOtp];

    /// The stable name stored in the database and used on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Passkey => "passkey",
            Self::TotpApp => "totp_app",
            Self::EmailOtp => "email_otp",
        }
    }

    /// The inverse of [`Method::as_str`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for m in Method::ALL {
            assert_eq!(Method::from_name(m.as_str()), Some(m));
            assert_eq!(
                serde_json::to_string(&m).unwrap(),
                format!("\"{}\"", m.as_str())
            );
        }
        assert_eq!(Method::from_name("sms"), None);
    }
}
