import { render } from 'preact';
import { App } from './app';
import { checkSession } from './session';
import './styles.css';

void checkSession();
render(<App />, document.getElementById('app')!);
