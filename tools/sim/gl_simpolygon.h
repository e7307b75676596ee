/*  gl_simpolygon — Polygon.io aggregates as gapless-sim serves them:
    GET /v2/aggs/ticker/{T}/range/{mult}/{timespan}/{from}/{to}.
    See tools/sim/README.md for the mapping.
*/
#ifndef GL_SIMPOLYGON_H_INCLUDED
#define GL_SIMPOLYGON_H_INCLUDED

#include "gl_simhttp.h"

//  The Polygon renderer.
const gl_simprovider_t *gl_simpolygon_provider (void);

#endif
