// post.js — helpers appended inside the module factory (--post-js), for web/ and the Node API.
// Heap views that are current: with pthreads, memory grown by another thread leaves this thread's views on
// the old (shorter) buffer, so JS must take fresh views after any call that may allocate.
Module['ds2Views'] = function () {
  if (wasmMemory.buffer != buffer) updateGlobalBufferAndViews(wasmMemory.buffer);
  return { u8: HEAPU8, i32: HEAP32, f32: HEAPF32 };
};
// Ends the pthread workers so Node can exit (a no-op in single-thread builds).
Module['ds2Terminate'] = function () {
  if (typeof PThread != 'undefined') PThread.terminateAllThreads();
};
