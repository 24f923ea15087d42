/* Stack high-water mark: the reset handler paints the stack with a pattern, and what was touched
 * since is measured by finding the deepest word that no longer holds it. */
#ifndef EN_STACK_H
#define EN_STACK_H

#include <stdint.h>

/* Fill the stack below the caller's frame with the paint pattern (call first, from reset). */
void en_stack_paint(void);

/* Bytes of stack used so far (from the top down to the deepest overwritten word). */
uint32_t en_stack_used(void);

/* Bytes reserved for the stack (the board's stack_bytes). */
uint32_t en_stack_size(void);

#endif
