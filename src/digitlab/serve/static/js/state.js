// What the tabs share: the server's /api/info and the visible tab.
export const state = { info: null, tab: 'recognise' };
