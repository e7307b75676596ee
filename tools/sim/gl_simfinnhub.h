/*  gl_simfinnhub — Finnhub candles: GET /api/v1/stock/candle,
    as gapless-sim serves it. See tools/sim/README.md for the mapping.
*/
#ifndef GL_SIMFINNHUB_H_INCLUDED
#define GL_SIMFINNHUB_H_INCLUDED

#include "gl_simhttp.h"

//  The Finnhub renderer.
const gl_simprovider_t *gl_simfinnhub_provider (void);

#endif
