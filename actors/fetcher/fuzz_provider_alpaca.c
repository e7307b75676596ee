/*  fuzz_provider_alpaca — libFuzzer target for the alpaca parser (see
    fuzz_provider.h). Seeds: the alpaca fixtures, copied at test time.
*/
#include "fuzz_provider.h"

//  libFuzzer's entry point.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_provider_run (GL_PROVIDER_ALPACA, data, size);
}
