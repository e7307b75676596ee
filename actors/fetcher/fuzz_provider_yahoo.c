/*  fuzz_provider_yahoo — libFuzzer target for the yahoo parser (see
    fuzz_provider.h). Seeds: the yahoo fixtures, copied at test time.
*/
#include "fuzz_provider.h"

//  libFuzzer's entry point.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_provider_run (GL_PROVIDER_YAHOO, data, size);
}
