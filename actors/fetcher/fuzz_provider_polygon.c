/*  fuzz_provider_polygon — libFuzzer target for the polygon parser (see
    fuzz_provider.h). Seeds: the polygon fixtures, copied at test time.
*/
#include "fuzz_provider.h"

//  libFuzzer's entry point.
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    return fuzz_provider_run (GL_PROVIDER_POLYGON, data, size);
}
