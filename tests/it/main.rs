//! Integration tests: the real `byteproof` binary against real registries on 127.0.0.1.
