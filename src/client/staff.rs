//! The staff console's side of the client: enrolment, sign-in, the signed-in staff member, and
//! the helpdesk routes (search, member case and its live events, caller verification, actions,
//! audit). Staff requests carry a [`StaffToken`], never a member's [`FlowToken`].

use std::time::Duration;

use reqwest::Method as HttpMethod;
use url::form_urlencoded;

use super::{Client, ClientError, FlowToken, without_url};
use crate::api::helpdesk::{
    AuditPage, MemberCase, MemberSearchPage, StaffActionDone, StaffActionRequest,
    VerifyCallerAnswer, VerifyCallerRequest,
};
use crate::api::staff::{
    StaffAccounts, StaffCodeRequest, StaffEnrolmentFinishRequest, StaffEnrolmentRequest,
    StaffEnrolmentStarted, StaffMe, StaffPasskeyEnrolmentFinish, StaffSignInRequest,
    StaffSignInResponse, StaffSignedOut,
};
use crate::api::{
    PasskeyAuthenticationFinish, PasskeyAuthenticationStart, PasskeyRegistrationStart,
};

/// How long one subscription to a member's events stays open before it is opened again (a
/// proxy may drop an idle stream silently; reopening re-reads the current version).
const EVENTS_WINDOW: Duration = Duration::from_secs(300);

/// The bearer token of a staff session (`tbs_…`). Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffToken(String);

impl StaffToken {
    /// Wraps a token received from the server (or kept in the keyring).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, to keep in the keyring. Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    fn bearer(&self) -> FlowToken {
        FlowToken(self.0.clone())
    }
}

impl std::fmt::Debug for StaffToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffToken(<redacted>)")
    }
}

/// What the audit page is filtered by (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One member's user ID.
    pub member: Option<String>,
    /// One staff login.
    pub staff: Option<String>,
    /// One action's stable name.
    pub action: Option<String>,
    /// From this date (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Until this date (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// The page (from 0).
    pub page: u32,
}

fn member_path(user_id: &str, tail: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(user_id.as_bytes()).collect();
    format!("/api/v1/staff/members/{id}{tail}")
}

impl Client {
    /// Enrolment, step one: the login and the one-time code an admin handed over; returns the
    /// enrolment's token and the authenticator app to set up.
    pub async fn staff_enrol_start(
        &self,
        login: &str,
        enrolment_code: &str,
    ) -> Result<(StaffToken, StaffEnrolmentStarted), ClientError> {
        let body = StaffEnrolmentRequest {
            login: login.to_owned(),
            enrolment_code: enrolment_code.to_owned(),
        };
        let r: StaffEnrolmentStarted = self.post("/api/v1/staff/enrolment", None, &body).await?;
        Ok((StaffToken(r.token.clone()), r))
    }

    /// Enrolment, step two: the new password and a code of the new app; the token becomes a
    /// signed-in session.
    pub async fn staff_enrol_finish(
        &self,
        token: &StaffToken,
        password: &str,
        code: &str,
    ) -> Result<StaffMe, ClientError> {
        let body = StaffEnrolmentFinishRequest {
            password: password.to_owned(),
            code: code.to_owned(),
            device_name: None,
        };
        self.post(
            "/api/v1/staff/enrolment/finish",
            Some(&token.bearer()),
            &body,
        )
        .await
    }

    /// Sign-in, step one: login and password; the token then waits for the app's code.
    pub async fn staff_sign_in(
        &self,
        login: &str,
        password: &str,
    ) -> Result<(StaffToken, StaffSignInResponse), ClientError> {
        let body = StaffSignInRequest {
            login: login.to_owned(),
            password: password.to_owned(),
        };
        let r: StaffSignInResponse = self.post("/api/v1/staff/sign-in", None, &body).await?;
        Ok((StaffToken(r.token.clone()), r))
    }

    /// Sign-in, step two: the authenticator app's code.
    pub async fn staff_verify(
        &self,
        token: &StaffToken,
        code: &str,
    ) -> Result<StaffMe, ClientError> {
        let body = StaffCodeRequest {
            code: code.to_owned(),
        };
        self.post("/api/v1/staff/sign-in/verify", Some(&token.bearer()), &body)
            .await
    }

    /// Enrolment with a passkey instead of the app: the options for the authenticator.
    pub async fn staff_enrol_passkey_start(
        &self,
        token: &StaffToken,
    ) -> Result<PasskeyRegistrationStart, ClientError> {
        self.post(
            "/api/v1/staff/enrolment/passkey",
            Some(&token.bearer()),
            &(),
        )
        .await
    }

    /// Enrolment with a passkey, step two: the new password and the authenticator's answer;
    /// the token becomes a signed-in session.
    pub async fn staff_enrol_passkey_finish(
        &self,
        token: &StaffToken,
        password: &str,
        credential: webauthn_rs::prelude::RegisterPublicKeyCredential,
        name: Option<&str>,
    ) -> Result<StaffMe, ClientError> {
        let body = StaffPasskeyEnrolmentFinish {
            password: password.to_owned(),
            credential,
            name: name.map(str::to_owned),
        };
        self.post(
            "/api/v1/staff/enrolment/passkey/finish",
            Some(&token.bearer()),
            &body,
        )
        .await
    }

    /// Sign-in, step two with a passkey: the options for the authenticator.
    pub async fn staff_passkey_start(
        &self,
        token: &StaffToken,
    ) -> Result<PasskeyAuthenticationStart, ClientError> {
        self.post("/api/v1/staff/sign-in/passkey", Some(&token.bearer()), &())
            .await
    }

    /// Sign-in, step two with a passkey: the authenticator's answer.
    pub async fn staff_passkey_finish(
        &self,
        token: &StaffToken,
        credential: webauthn_rs::prelude::PublicKeyCredential,
    ) -> Result<StaffMe, ClientError> {
        let body = PasskeyAuthenticationFinish { credential };
        self.post(
            "/api/v1/staff/sign-in/passkey/finish",
            Some(&token.bearer()),
            &body,
        )
        .await
    }

    /// Ends the staff session.
    pub async fn staff_sign_out(&self, token: &StaffToken) -> Result<StaffSignedOut, ClientError> {
        self.post("/api/v1/staff/sign-out", Some(&token.bearer()), &())
            .await
    }

    /// The signed-in staff member (checks that a kept session still works).
    pub async fn staff_me(&self, token: &StaffToken) -> Result<StaffMe, ClientError> {
        self.get("/api/v1/staff/me", Some(&token.bearer())).await
    }

    /// Every staff account (admins only).
    pub async fn staff_accounts(&self, token: &StaffToken) -> Result<StaffAccounts, ClientError> {
        self.get("/api/v1/staff/accounts", Some(&token.bearer()))
            .await
    }

    /// One page of members matching `query`.
    pub async fn search_members(
        &self,
        token: &StaffToken,
        query: &str,
        page: u32,
    ) -> Result<MemberSearchPage, ClientError> {
        let qs = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", query)
            .append_pair("page", &page.to_string())
            .finish();
        self.get(
            &format!("/api/v1/staff/members?{qs}"),
            Some(&token.bearer()),
        )
        .await
    }

    /// Everything the helpdesk sees of one member.
    pub async fn member_case(
        &self,
        token: &StaffToken,
        user_id: &str,
    ) -> Result<MemberCase, ClientError> {
        self.get(&member_path(user_id, ""), Some(&token.bearer()))
            .await
    }

    /// Verifies the caller (or mails them a code to read back).
    pub async fn verify_caller(
        &self,
        token: &StaffToken,
        user_id: &str,
        request: &VerifyCallerRequest,
    ) -> Result<VerifyCallerAnswer, ClientError> {
        self.post(
            &member_path(user_id, "/verify"),
            Some(&token.bearer()),
            request,
        )
        .await
    }

    /// Makes a change to the member (with the case's version and a reason).
    pub async fn staff_action(
        &self,
        token: &StaffToken,
        user_id: &str,
        request: &StaffActionRequest,
    ) -> Result<StaffActionDone, ClientError> {
        self.post(
            &member_path(user_id, "/actions"),
            Some(&token.bearer()),
            request,
        )
        .await
    }

    /// One page of the audit log.
    pub async fn audit(
        &self,
        token: &StaffToken,
        filter: &AuditFilter,
    ) -> Result<AuditPage, ClientError> {
        // The serializer is not Send: it is done with before the request goes out.
        let query = {
            let mut qs = form_urlencoded::Serializer::new(String::new());
            for (k, v) in [
                ("member", &filter.member),
                ("staff", &filter.staff),
                ("action", &filter.action),
                ("since", &filter.since),
                ("until", &filter.until),
            ] {
                if let Some(v) = v {
                    qs.append_pair(k, v);
                }
            }
            qs.append_pair("page", &filter.page.to_string());
            qs.finish()
        };
        self.get(
            &format!("/api/v1/staff/audit?{query}"),
            Some(&token.bearer()),
        )
        .await
    }

    /// Opens the member's live events (`text/event-stream`).
    pub async fn member_events(
        &self,
        token: &StaffToken,
        user_id: &str,
    ) -> Result<CaseEvents, ClientError> {
        let resp = self
            .http
            .request(HttpMethod::GET, self.url(&member_path(user_id, "/events"))?)
            .bearer_auth(&token.0)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .timeout(EVENTS_WINDOW)
            .send()
            .await
            .map_err(|e| ClientError::Transport(without_url(e)))?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await.unwrap_or_default();
            return Err(
                match serde_json::from_slice::<crate::api::ApiError>(&bytes) {
                    Ok(e) => ClientError::Api(e),
                    Err(_) => ClientError::Decode(format!("HTTP {status}")),
                },
            );
        }
        Ok(CaseEvents {
            resp,
            buf: Vec::new(),
            event: String::new(),
            data: String::new(),
        })
    }

    /// Waits until the member's case has a version other than `known`; `None` when the stream
    /// ended first (open it again). The server sends the current version first, so a change
    /// made between two subscriptions is not missed.
    pub async fn next_case_version(
        &self,
        token: &StaffToken,
        user_id: &str,
        known: &str,
    ) -> Result<Option<String>, ClientError> {
        let mut events = self.member_events(token, user_id).await?;
        while let Some(version) = events.next().await? {
            if version != known {
                return Ok(Some(version));
            }
        }
        Ok(None)
    }
}

/// A member's live events: each item is the case's version when it changed.
pub struct CaseEvents {
    resp: reqwest::Response,
    buf: Vec<u8>,
    event: String,
    data: String,
}

impl CaseEvents {
    /// The next `case` event's version; `None` when the stream ended (or its window passed).
    pub async fn next(&mut self) -> Result<Option<String>, ClientError> {
        loop {
            while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches(['\n', '\r']);
                if let Some(found) = self.line(line) {
                    return Ok(Some(found));
                }
            }
            match self.resp.chunk().await {
                Ok(Some(bytes)) => self.buf.extend_from_slice(&bytes),
                Ok(None) => return Ok(None),
                Err(e) if e.is_timeout() => return Ok(None),
                Err(e) => return Err(ClientError::Transport(without_url(e))),
            }
        }
    }

    /// One line of the event stream; a blank line ends an event.
    fn line(&mut self, line: &str) -> Option<String> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            return ((event.is_empty() || event == "case") && !data.is_empty())
                .then(|| data.trim().to_owned());
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
        None
    }
}
