//! The kiosk mode: the member screens at a shared terminal in a branch office, locked down.
//!
//! It wraps the member mode ([`Member`]) and owns what a shared terminal adds: its key policy
//! (no way out, no demo mailbox, no soft authenticator, no Bluetooth), its chrome (the branch
//! in the header, no Ctrl-C in the footer), an idle countdown that resets the kiosk ([`idle`]),
//! a heartbeat that shows "service unavailable" while the server is away, the staff exit on a
//! hidden key ([`staff`]), and the scrub after every visit: the member session dropped whole,
//! the screen and the terminal's scrollback wiped.

pub mod check;
pub mod fake;
pub mod idle;
pub mod staff;
mod view;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::api::{Lang, Method};
use crate::client::{Client, ClientError, FlowToken};
use crate::passkey::PasskeyTransport;
use crate::tui::i18n::Tr;
use crate::tui::modes::member::{ApiCall, Member, Reply};
use crate::tui::shell::app::{self as shell_app, KeyPolicy, Mode, Shell};
use crate::tui::shell::form::{Hit, Target};
use crate::tui::shell::runtime::Call;
use crate::tui::theme::Theme;
use crate::tui::widgets::qr::QrStyle;

use idle::{Idle, IdleState, Input};
use staff::{StaffCheck, StaffCredentials, StaffExit, StaffKey};

/// Seconds between heartbeats while the server answers.
pub const HEARTBEAT_SECS: u64 = 5;
/// Seconds between heartbeats while it does not (recovery is noticed sooner).
pub const HEARTBEAT_DOWN_SECS: u64 = 2;

/// The kiosk TUI: the shell running the kiosk mode.
pub type App = shell_app::App<Kiosk>;
/// A message to the kiosk TUI.
pub type Msg = shell_app::Msg<KioskReply>;
/// What the kiosk TUI asks the runtime to do.
pub type Command = shell_app::Command<KioskCall>;

/// The key policy of a kiosk: the language switch only.
pub const KIOSK_KEYS: KeyPolicy = KeyPolicy {
    quit: false,
    switch_lang: true,
    mailbox: false,
};

/// What the operator set in `[kiosk]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskSettings {
    /// Seconds without input before the countdown.
    pub idle_secs: u64,
    /// Seconds of countdown.
    pub warn_secs: u64,
    /// The language of the welcome screen after every reset.
    pub lang: Lang,
    /// The methods members may choose here.
    pub methods: Vec<Method>,
    /// The branch named in the header.
    pub branch: Option<String>,
}

impl Default for KioskSettings {
    fn default() -> Self {
        Self {
            idle_secs: 120,
            warn_secs: 30,
            lang: Lang::Ja,
            methods: Method::ALL.to_vec(),
            branch: None,
        }
    }
}

/// A kiosk's request.
#[derive(Clone, PartialEq, Eq)]
pub enum KioskCall {
    /// One of the member screens' requests.
    Member(ApiCall),
    /// The heartbeat.
    Health,
    /// Ends the flow of a member who walked away.
    SignOut(FlowToken),
    /// The staff exit's check.
    StaffExit(StaffCredentials),
}

impl std::fmt::Debug for KioskCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Member(c) => c.fmt(f),
            Self::Health => f.write_str("Health"),
            Self::SignOut(_) => f.write_str("SignOut"),
            Self::StaffExit(c) => c.fmt(f),
        }
    }
}

/// The answers.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // answers are moved once, not stored
pub enum KioskReply {
    /// To a member request.
    Member(Reply),
    /// The server answered the heartbeat.
    Alive,
    /// The flow ended.
    SignedOut,
    /// The staff member was signed in: the kiosk may end.
    StaffAccepted,
}

impl Call for KioskCall {
    type Reply = KioskReply;
    async fn execute(self, client: &Client) -> Result<KioskReply, ClientError> {
        match self {
            Self::Member(c) => c.execute(client).await.map(KioskReply::Member),
            Self::Health => client.health().await.map(|_| KioskReply::Alive),
            Self::SignOut(t) => client.sign_out(&t).await.map(|_| KioskReply::SignedOut),
            Self::StaffExit(creds) => client
                .check(creds)
                .await
                .map(|()| KioskReply::StaffAccepted),
        }
    }
}

/// The heartbeat's state.
#[derive(Debug, Clone, Default)]
struct Heartbeat {
    /// The tick the last one was sent at.
    sent_at: u64,
    /// The one on its way.
    in_flight: Option<u64>,
    /// The server did not answer the last one.
    down: bool,
}

/// The kiosk mode: the member mode inside, and what a shared terminal adds.
#[derive(Debug)]
pub struct Kiosk {
    /// The member screens (their session is scrubbed after every visit).
    pub member: Member,
    /// The operator's settings.
    pub settings: KioskSettings,
    /// The idle clock of the visit.
    pub idle: Idle,
    beat: Heartbeat,
    /// The staff exit screen, while open.
    pub staff: Option<StaffExit>,
    /// The staff check on its way.
    staff_seq: Option<u64>,
    exit_presses: u8,
    /// A flow was open in this visit (its end is the end of the visit).
    had_flow: bool,
    wipe: bool,
    /// Visits ended since start (for tests and logs).
    pub resets: u64,
}

impl Kiosk {
    /// A kiosk on the welcome screen.
    pub fn new(settings: KioskSettings, qr_style: QrStyle, utc_offset: time::UtcOffset) -> Self {
        let mut member = Member::with_qr_style(false, qr_style);
        member.keys = KIOSK_KEYS;
        member.utc_offset = utc_offset;
        member.methods = settings.methods.clone();
        Self {
            idle: Idle::new(settings.idle_secs, settings.warn_secs),
            member,
            settings,
            beat: Heartbeat::default(),
            staff: None,
            staff_seq: None,
            exit_presses: 0,
            had_flow: false,
            wipe: false,
            resets: 0,
        }
    }

    /// Whether the server is away (the unavailable screen is shown).
    pub fn server_down(&self) -> bool {
        self.beat.down
    }

    /// The countdown's seconds left, while it is on.
    pub fn countdown(&self, shell: &Shell) -> Option<u64> {
        self.idle.countdown(shell.ticks)
    }

    /// Ends the visit: the flow is signed out on the server, the member session dropped whole,
    /// the staff form wiped, the language back to the kiosk's, the terminal wiped.
    pub fn reset(&mut self, shell: &mut Shell) -> Vec<Command> {
        let mut cmds = vec![Command::CancelPasskey];
        if let Some(token) = self.member.scrub() {
            cmds.push(shell.side_call(KioskCall::SignOut(token)));
        }
        self.staff = None;
        self.staff_seq = None;
        self.exit_presses = 0;
        self.had_flow = false;
        self.idle.reset(shell.ticks);
        // An answer still on its way belongs to the visit that ended.
        shell.pending = None;
        shell.banner = None;
        shell.lang = self.settings.lang;
        // The next visitor's requests must not carry this one's language.
        cmds.push(Command::Lang(shell.lang));
        shell.dirty = true;
        self.wipe = true;
        self.resets += 1;
        tracing::info!(resets = self.resets, "kiosk reset");
        cmds
    }

    /// The member mode's commands, as the kiosk lets them through: no quitting (a finished
    /// visit resets instead), no mailbox, no Bluetooth or soft passkeys, no method the
    /// operator did not allow here.
    fn lift(&mut self, shell: &mut Shell, cmds: Vec<shell_app::Command<ApiCall>>) -> Vec<Command> {
        use shell_app::Command as C;
        let mut out = Vec::new();
        let mut reset = false;
        for cmd in cmds {
            match cmd {
                C::Call { seq, call }
                    if set_up(&call).is_some_and(|m| !self.settings.methods.contains(&m)) =>
                {
                    if shell.pending.as_ref().is_some_and(|p| p.seq == seq) {
                        shell.pending = None;
                    }
                    shell.error(Tr::new("kiosk.method_not_here"));
                }
                C::Call { seq, call } => out.push(C::Call {
                    seq,
                    call: KioskCall::Member(call),
                }),
                C::ListMailbox => {}
                C::Lang(lang) => out.push(C::Lang(lang)),
                C::Quit { .. } => {
                    // The complete screen's 終了: this member's visit ends, the kiosk stays.
                    shell.keep_running();
                    reset = true;
                }
                C::ProbePasskeys => out.push(C::ProbePasskeys),
                C::RunPasskey { transport, request } => {
                    if kiosk_transport(transport) {
                        out.push(C::RunPasskey { transport, request });
                    }
                }
                C::PasskeyPin(p) => out.push(C::PasskeyPin(p)),
                C::CancelPasskey => out.push(C::CancelPasskey),
                C::Watch(call) => out.push(C::Watch(KioskCall::Member(call))),
                C::StopWatch => out.push(C::StopWatch),
            }
        }
        if reset {
            out.extend(self.reset(shell));
        }
        out
    }

    /// After the member mode acted: a visit whose flow ended (signed out, finished, expired)
    /// and that is back at the start resets the kiosk.
    fn settle(&mut self, shell: &mut Shell, mut cmds: Vec<Command>) -> Vec<Command> {
        let s = &self.member.session;
        if s.token.is_some() {
            self.had_flow = true;
        } else if self.had_flow && matches!(s.screen.name(), "welcome" | "sign_in") {
            // Why the flow ended (held, timed out) is what this member must read; it names
            // nobody, so it outlives the reset.
            let ended_by = shell.banner.take().filter(|b| b.error);
            cmds.extend(self.reset(shell));
            shell.banner = ended_by;
        }
        cmds
    }

    fn heartbeat(&mut self, shell: &mut Shell) -> Option<Command> {
        let every = if self.beat.down {
            HEARTBEAT_DOWN_SECS
        } else {
            HEARTBEAT_SECS
        };
        if self.beat.in_flight.is_some() || shell.ticks.saturating_sub(self.beat.sent_at) < every {
            return None;
        }
        let cmd = shell.side_call(KioskCall::Health);
        if let shell_app::Command::Call { seq, .. } = &cmd {
            self.beat.in_flight = Some(*seq);
        }
        self.beat.sent_at = shell.ticks;
        Some(cmd)
    }

    fn on_beat(&mut self, shell: &mut Shell, alive: bool) {
        self.beat.in_flight = None;
        if self.beat.down == alive {
            tracing::info!(alive, "kiosk heartbeat changed");
            self.beat.down = !alive;
            shell.dirty = true;
            // What was drawn over the unavailable screen is drawn again whole.
            self.wipe = true;
        }
    }

    fn on_staff_key(&mut self, shell: &mut Shell, key: KeyEvent) -> Vec<Command> {
        let Some(form) = self.staff.as_mut() else {
            return Vec::new();
        };
        if self.staff_seq.is_some() {
            return Vec::new();
        }
        match form.on_key(key) {
            StaffKey::Stay => Vec::new(),
            StaffKey::Close => {
                self.staff = None;
                Vec::new()
            }
            StaffKey::Submit(creds) => {
                let cmd = shell.call(KioskCall::StaffExit(creds), false);
                if let shell_app::Command::Call { seq, .. } = &cmd {
                    self.staff_seq = Some(*seq);
                }
                vec![cmd]
            }
        }
    }

    fn on_staff_answer(
        &mut self,
        shell: &mut Shell,
        result: Result<KioskReply, ClientError>,
    ) -> Vec<Command> {
        self.staff_seq = None;
        match result {
            Ok(_) => {
                tracing::info!("kiosk ended by a staff sign-in");
                shell.set_quit();
                let sign_out = self.member.scrub();
                self.staff = None;
                vec![shell_app::Command::Quit { sign_out }]
            }
            Err(e) => {
                let key = match e {
                    ClientError::Api(_) => "kiosk.staff_refused",
                    _ => "kiosk.staff_unreachable",
                };
                tracing::warn!(error = %e, "kiosk staff exit refused");
                if let Some(form) = self.staff.as_mut() {
                    form.refused(key);
                }
                Vec::new()
            }
        }
    }
}

/// The method a request chooses or starts to set up.
fn set_up(call: &ApiCall) -> Option<Method> {
    use crate::tui::modes::member::screens::passkey::PasskeyPurpose;
    match call {
        ApiCall::ChooseMethod(_, m) => Some(*m),
        ApiCall::StartTotp(_) => Some(Method::TotpApp),
        ApiCall::StartPasskey(_, PasskeyPurpose::Register) => Some(Method::Passkey),
        _ => None,
    }
}

/// The passkey routes a shared terminal offers: a USB security key or the member's phone;
/// never Bluetooth pairing or a passkey that would stay on the kiosk.
pub fn kiosk_transport(t: PasskeyTransport) -> bool {
    matches!(t, PasskeyTransport::Usb | PasskeyTransport::Phone)
}

/// Keys that would leave or stop a program at a terminal: they do nothing here.
fn escape_key(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(
            key.code,
            KeyCode::Char('c' | 'z' | '\\' | 'd' | '4' | 'q' | 's')
        )
}

impl Mode for Kiosk {
    type Call = KioskCall;
    type Reply = KioskReply;

    fn keys(&self) -> KeyPolicy {
        KIOSK_KEYS
    }

    fn on_key(&mut self, shell: &mut Shell, key: KeyEvent) -> Vec<Command> {
        if escape_key(&key) {
            return Vec::new();
        }
        match self.idle.input(shell.ticks) {
            Input::Pass => {}
            Input::Extended => {
                shell.info("kiosk.extended");
                return Vec::new();
            }
            Input::Refused => return Vec::new(),
        }
        if key.code == staff::EXIT_KEY {
            self.exit_presses += 1;
            if self.exit_presses >= staff::EXIT_PRESSES && !self.beat.down {
                self.exit_presses = 0;
                self.staff = Some(StaffExit::default());
            }
            return Vec::new();
        }
        self.exit_presses = 0;
        if self.beat.down {
            return Vec::new();
        }
        if self.staff.is_some() {
            return self.on_staff_key(shell, key);
        }
        if key.code == KeyCode::F(3) {
            return Vec::new();
        }
        let cmds = self.member.on_key(shell, key);
        let cmds = self.lift(shell, cmds);
        self.settle(shell, cmds)
    }

    fn on_paste(&mut self, shell: &mut Shell, text: &str) {
        if self.idle.input(shell.ticks) != Input::Pass || self.beat.down {
            return;
        }
        if self.staff.is_none() {
            self.member.on_paste(shell, text);
        }
    }

    fn on_click(&mut self, shell: &mut Shell, target: Target) -> Vec<Command> {
        if self.idle.input(shell.ticks) != Input::Pass
            || self.beat.down
            || self.staff.is_some()
            || matches!(target, Target::MailboxToggle | Target::Mail(_))
        {
            return Vec::new();
        }
        let cmds = self.member.on_click(shell, target);
        let cmds = self.lift(shell, cmds);
        self.settle(shell, cmds)
    }

    fn on_tick(&mut self, shell: &mut Shell) -> Vec<Command> {
        let mut cmds: Vec<Command> = self.heartbeat(shell).into_iter().collect();
        match self.idle.tick(shell.ticks) {
            IdleState::Quiet => {}
            IdleState::Countdown(_) => shell.dirty = true,
            IdleState::Expired => {
                cmds.extend(self.reset(shell));
                return cmds;
            }
        }
        if self.beat.down {
            return cmds;
        }
        let member = self.member.on_tick(shell);
        let member = self.lift(shell, member);
        cmds.extend(member);
        self.settle(shell, cmds)
    }

    fn on_lang(&mut self, shell: &mut Shell) -> Vec<Command> {
        // F2 is a key like any other: it answers the countdown.
        if self.idle.input(shell.ticks) == Input::Extended {
            shell.info("kiosk.extended");
        }
        let cmds = self.member.on_lang(shell);
        self.lift(shell, cmds)
    }

    fn quiet(&self, result: &Result<KioskReply, ClientError>, background: bool) -> bool {
        match result {
            Ok(KioskReply::Member(r)) => self.member.quiet(&Ok(r.clone()), background),
            _ => false,
        }
    }

    fn on_response(
        &mut self,
        shell: &mut Shell,
        result: Result<KioskReply, ClientError>,
        background: bool,
    ) -> Vec<Command> {
        if self.staff_seq.is_some() {
            return self.on_staff_answer(shell, result);
        }
        if matches!(result, Err(ClientError::Transport(_))) {
            // Look at once whether the server is away.
            self.beat.sent_at = 0;
        }
        let result = match result {
            Ok(KioskReply::Member(r)) => Ok(r),
            Ok(_) => return Vec::new(),
            Err(e) => Err(e),
        };
        let cmds = self.member.on_response(shell, result, background);
        let cmds = self.lift(shell, cmds);
        self.settle(shell, cmds)
    }

    fn on_side_response(
        &mut self,
        shell: &mut Shell,
        seq: u64,
        result: Result<KioskReply, ClientError>,
    ) -> Vec<Command> {
        if self.beat.in_flight == Some(seq) {
            self.on_beat(shell, result.is_ok());
        }
        Vec::new()
    }

    fn on_other(&mut self, shell: &mut Shell, msg: Msg) -> Vec<Command> {
        use shell_app::Msg as M;
        let msg = match msg {
            M::PasskeyProbed(mut report) => {
                report.transports.retain(|a| kiosk_transport(a.transport));
                M::PasskeyProbed(report)
            }
            M::Passkey(e) => M::Passkey(e),
            M::PasskeyDone(r) => M::PasskeyDone(r),
            _ => return Vec::new(),
        };
        let cmds = self.member.on_other(shell, msg);
        let cmds = self.lift(shell, cmds);
        self.settle(shell, cmds)
    }

    fn on_quit(&mut self) -> Option<FlowToken> {
        self.staff = None;
        self.member.scrub()
    }

    fn screen_name(&self) -> &'static str {
        self.member.screen_name()
    }

    fn draw(&self, frame: &mut Frame, shell: &Shell, theme: Theme) -> Vec<Hit> {
        view::render(frame, shell, self, theme)
    }

    fn take_wipe(&mut self) -> bool {
        std::mem::take(&mut self.wipe)
    }

    fn wipe_on_exit(&self) -> bool {
        true
    }

    fn hangup_quits(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::shell::headless::{ctrl, key};

    #[test]
    fn escape_keys_are_the_terminal_control_keys() {
        assert!(escape_key(&ctrl('c')) && escape_key(&ctrl('z')) && escape_key(&ctrl('\\')));
        assert!(!escape_key(&key(KeyCode::Char('c'))));
    }

    #[test]
    fn only_usb_keys_and_phones() {
        assert!(kiosk_transport(PasskeyTransport::Usb));
        assert!(kiosk_transport(PasskeyTransport::Phone));
        assert!(!kiosk_transport(PasskeyTransport::Bluetooth));
        assert!(!kiosk_transport(PasskeyTransport::Soft));
    }
}
