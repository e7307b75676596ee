/*  gl_simalpaca — Alpaca market data v2: GET /v2/stocks/{T}/bars,
    as gapless-sim serves it. See tools/sim/README.md for the mapping.
*/
#ifndef GL_SIMALPACA_H_INCLUDED
#define GL_SIMALPACA_H_INCLUDED

#include "gl_simhttp.h"

//  The Alpaca renderer.
const gl_simprovider_t *gl_simalpaca_provider (void);

#endif
