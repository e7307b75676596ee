/*  fuzz_provider_tradier — libFuzzer target for the tradier parser (see
    fuzz_provider.h). Seeds: the tradier fixtures, copied at test time.
*/
#include "fuzz_provider.h"

//  libFuzzer's entry point.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_provider_run (GL_PROVIDER_TRADIER, data, size);
}
