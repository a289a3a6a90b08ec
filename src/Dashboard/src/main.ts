import './styles.css';

const root = document.getElementById('app')!;
root.textContent = 'AgentSpend';
