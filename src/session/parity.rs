//! A session as a case of the gate framework's parity scenarios: its id and its number of
//! events are what every parity row records.

use crate::gate::parity::ParityCase;

use super::Session;

impl ParityCase for Session {
    fn case_id(&self) -> String {
        self.id().to_string()
    }
    fn case_size(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Event, EventKind, SessionMeta};

    #[test]
    fn a_session_is_a_case_named_by_its_id_and_sized_by_its_events() {
        let meta = SessionMeta::new("NY_2025-07-24", "NY", "NQ", "M5");
        let events =
            vec![Event::new(7, 1_000, EventKind::PriceMovement, 100.0), Event::new(3, 0, EventKind::Anchor, 99.5)];
        let session = Session::new(meta, events, vec![]).unwrap();
        assert_eq!((session.case_id(), session.case_size()), ("NY_2025-07-24".to_string(), 2));
    }
}
