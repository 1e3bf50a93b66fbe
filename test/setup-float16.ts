// Tests that build tensors without opening a session through src/runtime/session.ts get the same float16 rule.
import '../src/runtime/float16-tensors.js';
