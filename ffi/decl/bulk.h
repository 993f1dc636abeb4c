/* Bulk bodies (implemented in bulk.c): a transfer with a file-like WRITEDATA
 * object and no user WRITEFUNCTION, run by perform() or by a CurlMulti.
 * libcurl's write callback is then a C function that copies each chunk into
 * a buffer of the handle's (allocated on first use, 64 KiB growing to
 * PCB_BULK_MAX, kept until close()/reset()), and hands the buffered bytes to
 * Python (pcb_bulk_flush, which calls obj.write once) only when the next
 * chunk would not fit.  perform() drains the rest between its steps and at
 * the end (pcb_bulk_drain); in a CurlMulti a handle with bytes buffered joins
 * its multi's bulk_queue, which CurlMulti drains at the end of every driving
 * call (pcb_multi_bulk_drain).  One Python crossing per ~1 MiB, or per
 * driving call, instead of one per chunk (<= CURL_MAX_WRITE_SIZE). */

#define PCB_BULK_MAX ...

/* Install the C write callback on e (WRITEFUNCTION, WRITEDATA = e) for the
 * next transfer; flushes call pcb_bulk_flush(clientp, ...).  Clears
 * bulk_len, bulk_pass and bulk_failed; sets bulk_on.  CURLE_OUT_OF_MEMORY if
 * the buffer cannot be allocated (nothing is installed then).  Once
 * bulk_failed is set, the C write callback fails every chunk. */
CURLcode pcb_bulk_start(struct pcb_easy *e, void *clientp);
/* If bulk_on: the write row's trampoline back (WRITEFUNCTION pcb_write,
 * WRITEDATA clientp), bulk_on cleared.  perform() calls it after the
 * transfer; pcb_multi_remove calls it when e leaves a CurlMulti.  Whoever
 * installs or removes WRITEFUNCTION itself clears bulk_on first. */
void pcb_bulk_stop(struct pcb_easy *e);
/* Drain every handle on m's bulk_queue (pcb_bulk_drain each, the last
 * queued first; a failed drain sets that handle's bulk_failed, what
 * obj.write raised is on its Curl).  The queue is empty after. */
void pcb_multi_bulk_drain(struct pcb_multi *m);
/* Hand what is buffered to Python (one pcb_bulk_flush call if bulk_len > 0):
 * 0, or -1 if the flush failed (bulk_failed is then set).  The buffer is
 * empty afterwards either way. */
int pcb_bulk_drain(struct pcb_easy *e);
/* Free the buffer, clear bulk_on (reset(), after curl_easy_reset; close()
 * frees it too). */
void pcb_bulk_free(struct pcb_easy *e);

/* The flush: called by bulk.c, never by libcurl, so it is not a row of the
 * callback table (no option installs it, it has no slot of its own: it calls
 * the write row's callable).  0 when obj.write took all `len` bytes at
 * `data` (valid during the call only), -1 when it raised or returned another
 * count. */
extern "Python" int pcb_bulk_flush(void *clientp, char *data, size_t len);
