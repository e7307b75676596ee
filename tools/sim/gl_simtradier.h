/*  gl_simtradier — Tradier market data: GET /v1/markets/history and /v1/markets/timesales,
    as gapless-sim serves it. See tools/sim/README.md for the mapping.
*/
#ifndef GL_SIMTRADIER_H_INCLUDED
#define GL_SIMTRADIER_H_INCLUDED

#include "gl_simhttp.h"

//  The Tradier renderer.
const gl_simprovider_t *gl_simtradier_provider (void);

#endif
