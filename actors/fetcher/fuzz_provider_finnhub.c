/*  fuzz_provider_finnhub — libFuzzer target for the finnhub parser (see
    fuzz_provider.h). Seeds: the finnhub fixtures, copied at test time.
*/
#include "fuzz_provider.h"

//  libFuzzer's entry point.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_provider_run (GL_PROVIDER_FINNHUB, data, size);
}
