/* The detector's alarm pin (an LED on the development boards), from the board's `alarm` in
 * boards/<board>.yaml through the generated board.h. On a board without one both do nothing. */
#ifndef EN_ALARM_H
#define EN_ALARM_H

/* Sets the pin up (clock gate, direction) and turns the alarm off. */
void en_alarm_init(void);
/* Turns the alarm on (on != 0) or off: one store to the board's output register. */
void en_alarm_set(int on);

#endif
