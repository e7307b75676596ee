/*  gl_simyahoo — Yahoo Finance chart v8: GET /v8/finance/chart/{T},
    as gapless-sim serves it. See tools/sim/README.md for the mapping.
*/
#ifndef GL_SIMYAHOO_H_INCLUDED
#define GL_SIMYAHOO_H_INCLUDED

#include "gl_simhttp.h"

//  The Yahoo renderer.
const gl_simprovider_t *gl_simyahoo_provider (void);

#endif
