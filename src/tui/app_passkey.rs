//! The app's side of passkeys (issue 6), kept apart from `app.rs`: opening the passkey screen,
//! turning the ceremony's events into phases, and the requests around the ceremony. The
//! ceremony itself runs in the event loop's thread (`Command::RunPasskey`), never here.

use super::{ApiCall, App, Command, Field, Msg, Screen, Tr};
use crate::domain::totp::device_name;
use crate::passkey::ui::PasskeyEvent;
use crate::passkey::{PasskeyError, Shared};
use crate::tui::screens::Intent;
use crate::tui::screens::passkey::{PasskeyPhase, PasskeyPurpose, PasskeyState};

impl App {
    /// Opens the passkey screen and probes what this terminal can use.
    pub(super) fn open_passkey(
        &mut self,
        purpose: PasskeyPurpose,
        from_home: bool,
    ) -> Vec<Command> {
        self.errors.clear();
        let mut s = PasskeyState::new(purpose);
        s.from_home = from_home;
        self.screen = Screen::Passkey(s);
        vec![Command::ProbePasskeys]
    }

    /// The probe's report, the ceremony's events and its end.
    pub(super) fn on_passkey_msg(&mut self, msg: Msg) -> Vec<Command> {
        self.dirty = true;
        let ja = self.lang == crate::api::Lang::Ja;
        let Screen::Passkey(s) = &mut self.screen else {
            // The member left the screen; a ceremony still running is cancelled.
            return match msg {
                Msg::Passkey(_) => vec![Command::CancelPasskey],
                _ => Vec::new(),
            };
        };
        match msg {
            Msg::PasskeyProbed(report) => {
                if matches!(s.phase, PasskeyPhase::Probing) {
                    s.show(PasskeyPhase::Choose(report));
                }
                Vec::new()
            }
            Msg::Passkey(event) => {
                if !s.in_ceremony() {
                    return Vec::new();
                }
                match event {
                    PasskeyEvent::Touch => s.show(PasskeyPhase::Touch),
                    PasskeyEvent::Pin { attempt } => s.show(PasskeyPhase::Pin { attempt }),
                    PasskeyEvent::Processing | PasskeyEvent::DismissQr => {
                        s.show(PasskeyPhase::Processing)
                    }
                    PasskeyEvent::Fingerprint { remaining, .. } => {
                        s.show(PasskeyPhase::Fingerprint { remaining })
                    }
                    PasskeyEvent::PhoneQr { url } => s.show(PasskeyPhase::PhoneQr {
                        url,
                        progress: None,
                    }),
                    PasskeyEvent::Cable(p) => {
                        if let PasskeyPhase::PhoneQr { progress, .. } = &mut s.phase {
                            *progress = Some(p);
                        }
                    }
                }
                Vec::new()
            }
            Msg::PasskeyDone(result) => {
                if !s.in_ceremony() {
                    return Vec::new();
                }
                match result {
                    Ok(answer) if s.purpose == PasskeyPurpose::Register => {
                        s.answer = Some(answer);
                        s.naming(ja);
                        Vec::new()
                    }
                    Ok(answer) => {
                        s.show(PasskeyPhase::Processing);
                        match self.token_or_expire() {
                            Some(t) => self.call(ApiCall::FinishPasskeyAuthentication(t, answer)),
                            None => Vec::new(),
                        }
                    }
                    Err(e) => {
                        s.show(PasskeyPhase::Failed(e));
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        }
    }

    /// The server's options arrived: run the ceremony through the chosen transport.
    pub(super) fn on_passkey_options(
        &mut self,
        request: Shared<crate::passkey::ceremony::Request>,
    ) -> Vec<Command> {
        let Screen::Passkey(s) = &mut self.screen else {
            return Vec::new();
        };
        match (&s.phase, s.transport) {
            (PasskeyPhase::Waiting, Some(transport)) => {
                vec![Command::RunPasskey { transport, request }]
            }
            _ => Vec::new(),
        }
    }

    /// A refused request on the passkey screen: back to the choice (the message says why),
    /// except a bad name, which stays on the naming step.
    pub(super) fn on_passkey_refused(&mut self) {
        if let Screen::Passkey(s) = &mut self.screen
            && !matches!(s.phase, PasskeyPhase::Naming)
            && let Some(report) = s.report.clone()
        {
            s.show(PasskeyPhase::Choose(report));
        }
    }

    /// The passkey screen's buttons and Esc.
    pub(super) fn on_passkey_intent(&mut self, intent: Intent) -> Vec<Command> {
        let token = self.token.clone();
        let Screen::Passkey(s) = &mut self.screen else {
            return match intent {
                Intent::PasskeySignIn => self.open_passkey(PasskeyPurpose::SignIn, false),
                _ => Vec::new(),
            };
        };
        match intent {
            Intent::PasskeyUse(transport) => {
                s.transport = Some(transport);
                s.show(PasskeyPhase::Waiting);
                let purpose = s.purpose;
                match self.token_or_expire() {
                    Some(t) => self.call(ApiCall::StartPasskey(t, purpose)),
                    None => Vec::new(),
                }
            }
            Intent::PasskeySubmitPin => {
                if !matches!(s.phase, PasskeyPhase::Pin { .. }) {
                    return Vec::new();
                }
                let pin = zeroize::Zeroizing::new(s.pin.value().to_owned());
                if pin.is_empty() {
                    self.set_error(Field::PasskeyPin, Tr::new("err.required"));
                    return Vec::new();
                }
                s.show(PasskeyPhase::Processing);
                vec![Command::PasskeyPin(Shared::new(Some(pin)))]
            }
            Intent::PasskeySaveName => {
                let Some(answer) = s.answer.clone() else {
                    return Vec::new();
                };
                let name = match device_name(s.name.value()) {
                    Ok(n) => n,
                    Err(_) => {
                        self.set_error(Field::PasskeyName, Tr::new("err.invalid_device_name"));
                        return Vec::new();
                    }
                };
                match token {
                    Some(t) => self.call(ApiCall::FinishPasskeyRegistration(t, answer, name)),
                    None => self
                        .token_or_expire()
                        .map(|_| Vec::new())
                        .unwrap_or_default(),
                }
            }
            Intent::PasskeyRetry => {
                s.show(PasskeyPhase::Probing);
                vec![Command::ProbePasskeys]
            }
            Intent::PasskeyCancel => {
                if s.in_ceremony() {
                    // Back to the choice; the ceremony thread ends by itself.
                    let back = s
                        .report
                        .clone()
                        .map_or(PasskeyPhase::Probing, PasskeyPhase::Choose);
                    let probe = matches!(back, PasskeyPhase::Probing);
                    s.show(back);
                    self.set_error(Field::Form, Tr::new(PasskeyError::Cancelled.message_key()));
                    let mut cmds = vec![Command::CancelPasskey];
                    if probe {
                        cmds.push(Command::ProbePasskeys);
                    }
                    return cmds;
                }
                match (s.purpose, s.from_home) {
                    (PasskeyPurpose::SignIn, _) => {
                        self.errors.clear();
                        self.screen = Screen::SecondFactor(Default::default());
                        Vec::new()
                    }
                    (PasskeyPurpose::Register, true) => self.go_home(),
                    (PasskeyPurpose::Register, false) => {
                        self.info("msg.no_back");
                        Vec::new()
                    }
                }
            }
            Intent::PasskeySignIn => Vec::new(),
            _ => Vec::new(),
        }
    }
}
