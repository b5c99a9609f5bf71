//! Tests of the router without a socket.
