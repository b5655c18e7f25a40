//! The reading view: static HTML pages over the case folder.
//!
//! Invariant: the pages run no script and load nothing (a CSP meta `default-src 'none'`, the
//! stylesheet of the case folder allowed by `style-src`), every byte from a source is escaped,
//! and no element makes the browser load or render an attachment: the pages name the paths.
