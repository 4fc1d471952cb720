/* libFuzzer target: the sections of a checkpoint (src/state/checkpoint.c) from arbitrary
 * bytes, loaded into a small fixed job by the loader's own test hook, which also closes
 * every window of a state that loads. Magic, version, fingerprint and checksum are
 * supplied by the hook, so the fuzzer reaches the section parser itself. */
#include <stddef.h>
#include <stdint.h>

int assay_checkpoint__fuzz(const uint8_t *data, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)assay_checkpoint__fuzz(data, size);
    return 0;
}
