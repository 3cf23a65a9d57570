//! What the pipeline tells the user while it works (lock waits, recoveries,
//! a download bar), and its errors, rendered by [`Ui`].

use super::Ui;
use crate::update::source::Progress;
use crate::update::{Events, UpdateError};

impl Ui {
    pub fn report(&self, error: &UpdateError) {
        self.report_error(error, error.hint().as_deref());
    }

    pub fn events(&self) -> UiEvents<'_> {
        UiEvents {
            ui: self,
            bar: None,
        }
    }
}

/// Renders pipeline events: lock waits, recoveries and an indicatif bar for
/// downloads (drawn only on a terminal, never with --quiet or --json).
pub struct UiEvents<'a> {
    ui: &'a Ui,
    bar: Option<indicatif::ProgressBar>,
}

impl Events for UiEvents<'_> {
    fn waiting_for_lock(&mut self, holder: &str) {
        self.ui
            .note(&format!("waiting for another pane to finish ({holder})…"));
    }
    fn recovered(&mut self, what: &str) {
        self.ui.note(&format!("recovered: {what}"));
    }
    fn downloading(&mut self) -> &mut dyn Progress {
        self
    }
    fn warning(&mut self, text: &str) {
        self.ui.warn(text);
    }
}

impl Progress for UiEvents<'_> {
    fn start(&mut self, name: &str, total: Option<u64>) {
        if !self.ui.stderr_terminal || self.ui.quiet || self.ui.json {
            return;
        }
        let bar = match total {
            Some(total) => indicatif::ProgressBar::new(total),
            None => indicatif::ProgressBar::no_length(),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("downloading {name}"));
        self.bar = Some(bar);
    }
    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }
    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
