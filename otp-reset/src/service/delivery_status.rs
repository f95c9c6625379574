//! `POST /delivery-status`: what became of the code a request-otp answer's `requestId` names.

use super::Inner;
use super::body::Fields;
use super::reply::{ApiError, Reply};
use crate::lang::Msg;
use crate::wire::ErrorCode;
use crate::{OtpStore, UserStore};

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    /// The same work for every id: one lookup in memory, whether the request was a user's or a
    /// stand-in's, so the answer's timing tells them apart no more than its status does.
    pub(super) fn delivery_status(&self, fields: &Fields) -> Result<Reply, ApiError> {
        let id = fields.required(
            "requestId",
            (ErrorCode::RequestIdRequired, Msg::RequestIdRequired),
            super::MAX_REQUEST_ID_CHARS,
        )?;
        let status = self
            .deliveries
            .status(id)
            .ok_or_else(|| ApiError::new(ErrorCode::RequestNotFound, Msg::RequestNotFound))?;
        Ok(Reply::DeliveryStatus(status))
    }
}
