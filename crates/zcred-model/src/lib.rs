//! zcred-model
